// Owned by the encoder helper: register encoder commands (embed, unsupervised) and ingest
// extensions (--dataset, --predictions) here. See /work/notes/cli-query.md.

extension CommandRegistry {
    /// Top-level commands contributed by the encoder (e.g. `EmbedCommand.self`).
    static var encoderCommands: [any FuteCommand.Type] { [] }

    /// Extra input modes for `fute-db ingest` (e.g. `--dataset DIR`, `--predictions FILE`).
    static var ingestExtensions: [any IngestExtension.Type] { [] }
}
