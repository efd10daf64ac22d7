import Foundation
import Index
import Storage

/// One integrity problem found by ``FuteDatabase/check(limit:)``.
public struct CheckFinding: Sendable, Equatable, Codable, CustomStringConvertible {
    /// What kind of record the problem is in.
    public enum Area: String, Sendable, Codable, CaseIterable {
        /// The `meta` database: magic, schema version, id counters.
        case schema
        /// A space record.
        case space
        /// A subject record or the name → id map.
        case subject
        /// An embedding record.
        case embedding
        /// A space's HNSW graph.
        case index
        /// A transfer observation.
        case observation
    }

    /// The kind of record at fault.
    public var area: Area
    /// What is wrong, naming the record (space, subject, id) — never the vector's values.
    public var message: String
    /// The space involved, when there is one.
    public var space: String?
    /// The subject involved, when there is one.
    public var subject: String?

    /// Creates a finding.
    public init(area: Area, message: String, space: String? = nil, subject: String? = nil) {
        self.area = area
        self.message = message
        self.space = space
        self.subject = subject
    }

    /// `area: message`.
    public var description: String { "\(area.rawValue): \(message)" }
}

/// The result of ``FuteDatabase/check(limit:)``: what was examined and every problem found.
public struct CheckReport: Sendable, Equatable {
    /// The problems, in the order found (at most the `limit` given to `check`).
    public var findings: [CheckFinding]
    /// Observations that do not make the store unsound: nodes of an `ip` space's graph that are
    /// unreachable (HNSW cannot promise reachability under inner product on non-normalised data:
    /// a short vector is nobody's nearest neighbour). Such nodes are missed by approximate search
    /// and found by `--exact`.
    public var warnings: [CheckFinding] = []
    /// More problems existed than `limit` allowed to list.
    public var truncated: Bool
    /// The schema version recorded in the store.
    public var schemaVersion: Int
    /// Spaces examined.
    public var spaces: Int
    /// Subjects examined.
    public var subjects: Int
    /// Embeddings examined (every float of each was read).
    public var embeddings: Int
    /// Observations examined.
    public var observations: Int
    /// Spaces whose HNSW graph was checked (spaces without a graph are searched exactly).
    public var indexedSpaces: Int

    /// Whether the store is sound: no findings.
    public var isSound: Bool { findings.isEmpty }

    /// Creates a report (``FuteDatabase/check(limit:)`` makes them; this is for callers that
    /// report a store that does not open in the same shape).
    public init(findings: [CheckFinding], truncated: Bool = false, schemaVersion: Int = 0, spaces: Int = 0, subjects: Int = 0,
                embeddings: Int = 0, observations: Int = 0, indexedSpaces: Int = 0) {
        self.findings = findings
        self.truncated = truncated
        self.schemaVersion = schemaVersion
        self.spaces = spaces
        self.subjects = subjects
        self.embeddings = embeddings
        self.observations = observations
        self.indexedSpaces = indexedSpaces
    }
}

extension FuteDatabase {
    /// Checks the store's integrity in one read transaction (a consistent snapshot; writers may
    /// continue meanwhile) and returns every problem found, up to `limit`.
    ///
    /// Checked: the schema magic and version are fute-db's and known; id counters are ahead of
    /// every id in use; every space record decodes with a sane dimension and index parameters;
    /// the subject name ↔ id maps agree both ways and every subject record decodes; every
    /// embedding's space and subject exist, its header is known, its length matches the space's
    /// dimension and every value is finite; every observation's subjects exist and its score is a
    /// finite number; and for each space with an HNSW graph, the Index module's invariants
    /// (every live node reachable from the entry point, no link to a missing or freed node,
    /// degrees within bounds, levels consistent) with the graph's node set equal to the space's
    /// embedding set.
    ///
    /// The check reads every record: its cost is one pass over the store.
    /// - Throws: ``FuteError`` only when the store cannot be read at all; problems in records
    ///   are findings, not errors.
    public func check(limit: Int = 1_000) throws -> CheckReport {
        try translatingStorageErrors(path: path) {
            // LMDB: a database handle must be opened before the read transaction that uses it.
            // The index databases exist once any space has a graph; absent ones are simply skipped
            // (any other failure to open one is an error: it must not read as "no index").
            for name in HNSWDatabases.names {
                do { _ = try environment.openDatabase(named: name, create: false) } catch let error as LMDBError where error.kind == .notFound {}
            }
            return try environment.read { txn in
                var checker = IntegrityChecker(layout: layout, transaction: txn, limit: limit)
                try checker.run()
                return checker.report
            }
        }
    }
}

/// The passes of ``FuteDatabase/check(limit:)`` over one read transaction.
struct IntegrityChecker {
    let layout: StorageLayout
    let transaction: ReadTransaction
    let limit: Int
    var report = CheckReport(findings: [], truncated: false, schemaVersion: 0, spaces: 0, subjects: 0,
                             embeddings: 0, observations: 0, indexedSpaces: 0)
    /// Decoded spaces by id.
    var spaces: [UInt32: Space] = [:]
    /// Subject names by id (from the `subjects` records).
    var subjectNames: [UInt64: String] = [:]
    /// Subject ids with an embedding, per space id.
    var embedded: [UInt32: Set<UInt64>] = [:]

    init(layout: StorageLayout, transaction: ReadTransaction, limit: Int) {
        self.layout = layout
        self.transaction = transaction
        self.limit = max(1, limit)
    }

    mutating func report(_ area: CheckFinding.Area, _ message: String, space: String? = nil, subject: String? = nil) {
        guard report.findings.count < limit else { report.truncated = true; return }
        report.findings.append(CheckFinding(area: area, message: message, space: space, subject: subject))
    }

    mutating func run() throws {
        let counters = try checkMeta()
        try checkSpaces(nextSpaceID: counters.nextSpace)
        try checkSubjects(nextSubjectID: counters.nextSubject)
        try checkEmbeddings()
        try checkObservations()
        try checkIndexes()
    }

    // MARK: meta

    mutating func checkMeta() throws -> (nextSpace: UInt32?, nextSubject: UInt64?) {
        let magic = try transaction.bytes(forKey: StorageLayout.MetaKey.magic, in: layout.meta)
        if magic != StorageLayout.magic {
            report(.schema, magic == nil ? "the meta database has no magic; this is not a fute-db store or it is damaged"
                                         : "the meta magic is not fute-db's; this is not a fute-db store")
        }
        let version = try transaction.bytes(forKey: StorageLayout.MetaKey.schemaVersion, in: layout.meta)
        if let version, version.count == 4 {
            let value = version.withUnsafeBytes { $0.bigEndianUInt32() }
            report.schemaVersion = Int(value)
            if value < 1 || value > StorageLayout.schemaVersion {
                report(.schema, "schema version \(value) is unknown to this fute-db (it reads 1…\(StorageLayout.schemaVersion)); upgrade fute-db")
            }
        } else {
            report(.schema, "the schema version is missing or not 4 bytes")
        }
        let nextSpace = try transaction.bytes(forKey: StorageLayout.MetaKey.nextSpaceID, in: layout.meta)
        let nextSubject = try transaction.bytes(forKey: StorageLayout.MetaKey.nextSubjectID, in: layout.meta)
        if nextSpace?.count != 4 { report(.schema, "the next space id counter is missing or not 4 bytes") }
        if nextSubject?.count != 8 { report(.schema, "the next subject id counter is missing or not 8 bytes") }
        return (nextSpace.flatMap { $0.count == 4 ? $0.withUnsafeBytes { $0.bigEndianUInt32() } : nil },
                nextSubject.flatMap { $0.count == 8 ? $0.withUnsafeBytes { $0.bigEndianUInt64() } : nil })
    }

    // MARK: spaces

    mutating func checkSpaces(nextSpaceID: UInt32?) throws {
        var entries: [(name: String?, value: [UInt8])] = []
        try transaction.forEach(in: layout.spaces) { key, value in
            entries.append((String(validating: key, as: UTF8.self), Array(value)))
        }
        for (name, value) in entries {
            report.spaces += 1
            guard let name else { report(.space, "a space name is not valid UTF-8"); continue }
            let stored: StoredSpace
            do {
                stored = try value.withUnsafeBytes { try RecordCoding.decodeSpace($0, name: name) }
            } catch {
                report(.space, "space \"\(name)\": record does not decode (\(error))", space: name)
                continue
            }
            if stored.space.name != name {
                report(.space, "space \"\(name)\": record names itself \"\(stored.space.name)\"", space: name)
            }
            if !(1...StorageLayout.maxDimension).contains(stored.space.dimension) {
                report(.space, "space \"\(name)\": dimension \(stored.space.dimension) is out of range", space: name)
            }
            do { try stored.space.index.validate() } catch {
                report(.space, "space \"\(name)\": index parameters are invalid (\(error))", space: name)
            }
            if let other = spaces[stored.id] {
                report(.space, "spaces \"\(other.name)\" and \"\(name)\" share id \(stored.id)", space: name)
            }
            if let nextSpaceID, stored.id >= nextSpaceID {
                report(.schema, "space \"\(name)\" has id \(stored.id) but the next space id counter is \(nextSpaceID)", space: name)
            }
            spaces[stored.id] = stored.space
        }
    }

    // MARK: subjects

    mutating func checkSubjects(nextSubjectID: UInt64?) throws {
        var idsByName: [(name: String?, value: [UInt8])] = []
        try transaction.forEach(in: layout.subjectIDs) { key, value in
            idsByName.append((String(validating: key, as: UTF8.self), Array(value)))
        }
        var records: [(key: [UInt8], value: [UInt8])] = []
        try transaction.forEach(in: layout.subjects) { key, value in records.append((Array(key), Array(value))) }

        for (key, value) in records {
            report.subjects += 1
            guard key.count == 8 else { report(.subject, "a subject key is \(key.count) bytes, not 8"); continue }
            let id = key.withUnsafeBytes { $0.bigEndianUInt64() }
            let subject: Subject
            do {
                subject = try value.withUnsafeBytes { try RecordCoding.decodeSubject($0) }
            } catch {
                report(.subject, "subject id \(id): record does not decode (\(error))")
                continue
            }
            if value.withUnsafeBytes({ RecordCoding.subjectKind($0) }) != subject.kind {
                report(.subject, "subject \"\(subject.name)\": kind byte disagrees with the record's kind \(subject.kind.rawValue)", subject: subject.name)
            }
            if let nextSubjectID, id >= nextSubjectID {
                report(.schema, "subject \"\(subject.name)\" has id \(id) but the next subject id counter is \(nextSubjectID)", subject: subject.name)
            }
            subjectNames[id] = subject.name
        }
        var mapped = Set<UInt64>()
        for (name, value) in idsByName {
            guard let name else { report(.subject, "a subject name in the name map is not valid UTF-8"); continue }
            guard value.count == 8 else {
                report(.subject, "subject \"\(name)\": the name map holds \(value.count) bytes, not an 8-byte id", subject: name)
                continue
            }
            let id = value.withUnsafeBytes { $0.bigEndianUInt64() }
            guard let recorded = subjectNames[id] else {
                report(.subject, "subject \"\(name)\": the name map points to id \(id), which has no subject record", subject: name)
                continue
            }
            if recorded != name {
                report(.subject, "subject \"\(name)\": the name map points to id \(id), whose record is named \"\(recorded)\"", subject: name)
            }
            if !mapped.insert(id).inserted {
                report(.subject, "subject id \(id) is the target of two names in the name map", subject: name)
            }
        }
        for (id, name) in subjectNames.sorted(by: { $0.key < $1.key }) where !mapped.contains(id) {
            report(.subject, "subject \"\(name)\" (id \(id)) has a record but no entry in the name map", subject: name)
        }
    }

    // MARK: embeddings

    mutating func checkEmbeddings() throws {
        // Findings are collected in the scan closure and reported after it (no `self` mutation inside).
        var problems: [CheckFinding] = []
        var count = 0
        var embedded: [UInt32: Set<UInt64>] = [:]
        let spaces = self.spaces
        let subjectNames = self.subjectNames
        try transaction.forEach(in: layout.embeddings) { key, value in
            count += 1
            guard key.count == 12 else {
                problems.append(CheckFinding(area: .embedding, message: "an embedding key is \(key.count) bytes, not 12 (space id, subject id)"))
                return
            }
            let spaceID = key.bigEndianUInt32(at: 0)
            let subjectID = key.bigEndianUInt64(at: 4)
            let subject = subjectNames[subjectID]
            let subjectLabel = subject.map { "\"\($0)\"" } ?? "id \(subjectID)"
            guard let space = spaces[spaceID] else {
                problems.append(CheckFinding(area: .embedding, message: "embedding of subject \(subjectLabel) belongs to space id \(spaceID), which does not exist", subject: subject))
                return
            }
            embedded[spaceID, default: []].insert(subjectID)
            if subject == nil {
                problems.append(CheckFinding(area: .embedding, message: "space \"\(space.name)\": embedding of subject id \(subjectID), which does not exist", space: space.name))
            }
            let label = "space \"\(space.name)\", subject \(subjectLabel)"
            guard value.count >= StorageLayout.embeddingHeaderSize else {
                problems.append(CheckFinding(area: .embedding, message: "\(label): record is \(value.count) bytes, shorter than its header", space: space.name, subject: subject))
                return
            }
            if value[0] != StorageLayout.embeddingFormat {
                problems.append(CheckFinding(area: .embedding, message: "\(label): unknown embedding format \(value[0])", space: space.name, subject: subject))
            }
            if EmbeddingKind(byte: value[1]) == nil {
                problems.append(CheckFinding(area: .embedding, message: "\(label): unknown embedding kind \(value[1])", space: space.name, subject: subject))
            }
            let headerDimension = Int(UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            let floats = (value.count - StorageLayout.embeddingHeaderSize) / 4
            if headerDimension != space.dimension || floats != space.dimension || (value.count - StorageLayout.embeddingHeaderSize) % 4 != 0 {
                problems.append(CheckFinding(area: .embedding, message: "\(label): vector length \(floats) (header says \(headerDimension)) differs from the space's dimension \(space.dimension)", space: space.name, subject: subject))
                return
            }
            for index in 0..<floats {
                let bits = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: StorageLayout.embeddingHeaderSize + 4 * index, as: UInt32.self))
                if !Float(bitPattern: bits).isFinite {
                    problems.append(CheckFinding(area: .embedding, message: "\(label): value \(index) is not finite (NaN or infinity)", space: space.name, subject: subject))
                    break
                }
            }
        }
        report.embeddings = count
        self.embedded = embedded
        for problem in problems { report(problem.area, problem.message, space: problem.space, subject: problem.subject) }
    }

    // MARK: observations

    mutating func checkObservations() throws {
        var problems: [String] = []
        var count = 0
        let subjectNames = self.subjectNames
        try transaction.forEach(in: layout.observations) { key, value in
            count += 1
            guard key.count > 16 else { problems.append("an observation key is \(key.count) bytes, too short for (target, source, metric)"); return }
            let target = key.bigEndianUInt64(at: 0)
            let source = key.bigEndianUInt64(at: 8)
            let metric = String(validating: UnsafeRawBufferPointer(rebasing: key[16...]), as: UTF8.self)
            let label = "observation (target \(subjectNames[target].map { "\"\($0)\"" } ?? "id \(target)"), source \(subjectNames[source].map { "\"\($0)\"" } ?? "id \(source)"))"
            if subjectNames[target] == nil { problems.append("\(label): target subject id \(target) does not exist") }
            if subjectNames[source] == nil { problems.append("\(label): source subject id \(source) does not exist") }
            if metric == nil { problems.append("\(label): metric name is not valid UTF-8") }
            do {
                let score = try RecordCoding.decodeScore(value)
                if !score.isFinite { problems.append("\(label): score is not finite") }
            } catch {
                problems.append("\(label): score record does not decode")
            }
        }
        report.observations = count
        for problem in problems { report(.observation, problem) }
    }

    // MARK: HNSW

    mutating func checkIndexes() throws {
        for (id, space) in spaces.sorted(by: { $0.key < $1.key }) {
            let keys = embedded[id] ?? []
            let exists: Bool
            do { exists = try HNSWGraph.exists(spaceID: id, in: transaction) } catch {
                report(.index, "space \"\(space.name)\": the graph header is unreadable (\(error))", space: space.name)
                continue
            }
            guard exists else { continue }
            report.indexedSpaces += 1
            do {
                let graph = try HNSWGraph(spaceID: id, in: transaction)
                if graph.dimension != space.dimension {
                    report(.index, "space \"\(space.name)\": graph dimension \(graph.dimension) differs from the space's \(space.dimension)", space: space.name)
                }
                if graph.metric != space.metric {
                    report(.index, "space \"\(space.name)\": graph metric \(graph.metric.rawValue) differs from the space's \(space.metric.rawValue)", space: space.name)
                }
                for problem in try graph.checkInvariants(expectedKeys: keys, in: transaction) {
                    if space.metric == .ip && problem.isUnreachable {
                        report.warnings.append(CheckFinding(area: .index, message: "space \"\(space.name)\": \(problem) (ip metric: found by --exact only)", space: space.name))
                    } else {
                        report(.index, "space \"\(space.name)\": \(problem)", space: space.name)
                    }
                }
            } catch {
                report(.index, "space \"\(space.name)\": the graph cannot be read (\(error))", space: space.name)
            }
        }
    }
}
