/// The list of top-level `fute-db` commands, in help order.
///
/// To add a command, write a type conforming to `FuteCommand` in
/// its own file under `Sources/FuteCLI/Commands/`, then list it in `CommandRegistry.encoderCommands`
/// (in `Commands/EncoderCommands.swift`), or in `builtIn` here.
public enum CommandRegistry {
    /// Commands written with the CLI.
    static var builtIn: [any FuteCommand.Type] {
        [IngestCommand.self, QueryCommand.self, ObserveCommand.self, EvalCommand.self, StatsCommand.self, MapCommand.self, CheckCommand.self, BackupCommand.self, DeleteCommand.self]
    }

    /// Every top-level command.
    public static var commands: [any FuteCommand.Type] { builtIn + encoderCommands }
}
