import Foundation

/// Argument checks shared by readers and writers; each error names the field at fault.
enum Validation {
    static func name(_ value: String, field: String) throws {
        let bytes = value.utf8.count
        guard bytes > 0 else {
            throw FuteError(.invalidArgument, "the \(field) name is empty; give a name of 1 to \(StorageLayout.maxKeyBytes) UTF-8 bytes", field: field)
        }
        guard bytes <= StorageLayout.maxKeyBytes else {
            throw FuteError(.invalidArgument, "the \(field) name is \(bytes) UTF-8 bytes long, over the limit of \(StorageLayout.maxKeyBytes); shorten it", field: field)
        }
        guard !value.utf8.contains(0) else {
            throw FuteError(.invalidArgument, "the \(field) name contains a NUL character; remove it", field: field)
        }
    }

    static func vector(_ vector: [Float], dimension: Int, space: String, field: String = "vector") throws {
        guard !vector.isEmpty else {
            throw FuteError(.invalidArgument, "the \(field) is empty; space \"\(space)\" expects \(dimension) floats", field: field)
        }
        guard vector.count == dimension else {
            throw FuteError(.dimensionMismatch, "the \(field) has \(vector.count) floats but space \"\(space)\" has dimension \(dimension); embed it with the space's encoder, or use another space", field: field)
        }
        if let index = vector.firstIndex(where: { !$0.isFinite }) {
            throw FuteError(.invalidArgument, "the \(field) has a \(vector[index].isNaN ? "NaN" : "infinite") value at index \(index); vectors must be finite", field: field)
        }
    }

    static func k(_ k: Int) throws {
        guard k >= 1 else { throw FuteError(.invalidArgument, "k is \(k); ask for at least 1 result", field: "k") }
    }

    static func ef(_ ef: Int?) throws {
        if let ef, ef < 1 { throw FuteError(.invalidArgument, "ef is \(ef); use at least 1, or nil for the space's default", field: "ef") }
    }

    static func space(_ space: Space) throws {
        try name(space.name, field: "space")
        guard (1...StorageLayout.maxDimension).contains(space.dimension) else {
            throw FuteError(.invalidArgument, "the dimension of space \"\(space.name)\" is \(space.dimension); use 1 to \(StorageLayout.maxDimension)", field: "dimension")
        }
        do { try space.index.validate() } catch {
            throw FuteError(.invalidArgument, "the index parameters of space \"\(space.name)\" are invalid: \(error)", field: "index")
        }
        if space.provenance.extra[Provenance.comparisonKey] != nil {
            throw FuteError(.invalidArgument, "the provenance of space \"\(space.name)\" sets extra[\"\(Provenance.comparisonKey)\"]; that key is reserved: set Provenance.comparison instead", field: "provenance.extra")
        }
    }

    static func subject(_ subject: Subject) throws {
        try name(subject.name, field: "subject")
        guard case .object = subject.metadata else {
            throw FuteError(.invalidArgument, "the metadata of subject \"\(subject.name)\" is not a JSON object; wrap it in an object such as {\"value\": …}", field: "metadata")
        }
    }

    static func observation(_ observation: TransferObservation) throws {
        try name(observation.source, field: "source")
        try name(observation.target, field: "target")
        let bytes = observation.metric.utf8.count
        guard (1...StorageLayout.maxObservationMetricBytes).contains(bytes) else {
            throw FuteError(.invalidArgument, "the observation metric name is \(bytes) UTF-8 bytes; use 1 to \(StorageLayout.maxObservationMetricBytes)", field: "metric")
        }
        guard observation.score.isFinite else {
            throw FuteError(.invalidArgument, "the observation score is not finite; record a finite number", field: "score")
        }
    }
}
