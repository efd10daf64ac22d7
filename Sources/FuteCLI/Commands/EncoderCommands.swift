// Registers the encoder commands (embed, unsupervised) and the ingest extensions
// (--dataset, --predictions): each is a type in its own file under Commands/.

extension CommandRegistry {
    /// Top-level commands contributed by the encoder.
    static var encoderCommands: [any FuteCommand.Type] { [EmbedCommand.self, UnsupervisedCommand.self] }

    /// Extra input modes for `fute-db ingest`: `--dataset FILE` (DTE / TextEmb) and `--predictions FILE` (MTE).
    static var ingestExtensions: [any IngestExtension.Type] { [TaskIngestExtension.self] }
}
