// Owned by the encoder helper: register encoder commands (embed, unsupervised) and ingest
// extensions (--dataset, --predictions) here. See /work/notes/cli-query.md.

extension CommandRegistry {
    /// Top-level commands contributed by the encoder.
    static var encoderCommands: [any FuteCommand.Type] { [EmbedCommand.self, UnsupervisedCommand.self] }

    /// Extra input modes for `fute-db ingest`: `--dataset FILE` (DTE / TextEmb) and `--predictions FILE` (MTE).
    static var ingestExtensions: [any IngestExtension.Type] { [TaskIngestExtension.self] }
}
