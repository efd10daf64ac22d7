import Foundation
import TestSupport
import XCTest
import Kernels
import Storage
@testable import Index

/// In-link counts and the local repairs they allow (issue 12: a delete or a small commit must
/// not cost a walk or a scan of the whole graph).
final class LocalRepairTests: XCTestCase {
    /// An in-memory store that counts how many neighbour lists the algorithm reads.
    final class CountingStore: HNSWNodeStore {
        let base: InMemoryNodeStore
        var listReads = 0
        init(_ base: InMemoryNodeStore) { self.base = base }
        var dimension: Int { base.dimension }
        var metric: Metric { base.metric }
        var slotCapacity: Int { base.slotCapacity }
        var liveNodeCount: Int { base.liveNodeCount }
        func entryPoint() throws -> (slot: UInt32, level: Int)? { try base.entryPoint() }
        func level(of slot: UInt32) throws -> Int { try base.level(of: slot) }
        func key(of slot: UInt32) throws -> UInt64 { try base.key(of: slot) }
        func distance(_ query: UnsafePointer<Float>, to slot: UInt32) throws -> Float { try base.distance(query, to: slot) }
        func withVector<R>(of slot: UInt32, _ body: (UnsafePointer<Float>) throws -> R) throws -> R { try base.withVector(of: slot, body) }
        func withNeighbors<R>(of slot: UInt32, layer: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> R) throws -> R {
            listReads += 1
            return try base.withNeighbors(of: slot, layer: layer, body)
        }
        func liveSlots() throws -> [UInt32] { try base.liveSlots() }
        func slot(forKey key: UInt64) throws -> UInt32? { try base.slot(forKey: key) }
        func inDegree(of slot: UInt32, layer: Int) throws -> Int? { try base.inDegree(of: slot, layer: layer) }
        func allocate(key: UInt64, vector: UnsafePointer<Float>, level: Int) throws -> UInt32 { try base.allocate(key: key, vector: vector, level: level) }
        func setNeighbors(of slot: UInt32, layer: Int, _ neighbors: UnsafeBufferPointer<UInt32>) throws { try base.setNeighbors(of: slot, layer: layer, neighbors) }
        func free(_ slot: UInt32) throws { try base.free(slot) }
        func setEntryPoint(_ entry: (slot: UInt32, level: Int)?) throws { try base.setEntryPoint(entry) }
        func highestLevelNode(excluding excluded: UInt32) throws -> (slot: UInt32, level: Int)? { try base.highestLevelNode(excluding: excluded) }
        func prunedSinceWalk() throws -> Int { try base.prunedSinceWalk() }
        func setPrunedSinceWalk(_ count: Int) throws { try base.setPrunedSinceWalk(count) }
    }

    /// In-link counts recomputed from every link (independent of the store's bookkeeping).
    func countedInDegrees(_ store: InMemoryNodeStore) throws -> [[UInt32: Int]] {
        var counts: [[UInt32: Int]] = []
        for s in try store.liveSlots() {
            for layer in 0...(try store.level(of: s)) {
                while counts.count <= layer { counts.append([:]) }
                for n in try store.neighbors(of: s, layer: layer) { counts[layer][n, default: 0] += 1 }
            }
        }
        return counts
    }

    /// The counts the store keeps match a recount after inserts, replacements and deletions.
    func testInDegreesMatchARecountAfterRandomOperations() throws {
        var rng = TestRNG(seed: 4_400)
        let d = 6
        let index = try HNSWIndex(dimension: d, metric: .l2, parameters: HNSWParameters(m: 4, efConstruction: 16))
        var keys = Set<UInt64>()
        for step in 0..<700 {
            let key = UInt64.random(in: 0..<300, using: &rng)
            if step < 300 || Bool.random(using: &rng) {
                try index.insert(key: key, vector: rng.vector(d))
                keys.insert(key)
            } else {
                XCTAssertEqual(try index.remove(key: key), keys.remove(key) != nil)
            }
        }
        let counted = try countedInDegrees(index.store)
        for s in try index.store.liveSlots() {
            for layer in 0...(try index.store.level(of: s)) {
                XCTAssertEqual(try index.store.inDegree(of: s, layer: layer), counted[layer][s] ?? 0, "slot \(s) layer \(layer)")
            }
        }
        XCTAssertEqual(try index.checkInvariants(expectedKeys: keys), [])
    }

    /// A delete's in-neighbours, found by local searches (widening when the first beam falls
    /// short, as for a hub linked from far away), are exactly the nodes a scan finds, on every
    /// layer — with a beam small enough that the first search often misses some.
    func testInNeighboursFoundLocallyAreExactlyThoseAScanFinds() throws {
        var rng = TestRNG(seed: 4_500)
        let d = 8
        let parameters = HNSWParameters(m: 4, efConstruction: 8)
        let index = try HNSWIndex(dimension: d, metric: .l2, parameters: parameters)
        try index.insert(contentsOf: rng.clustered(3_000, d).enumerated().map { (key: UInt64($0.offset), vector: $0.element) })
        let store = index.store
        let algorithm = HNSWAlgorithm(store: store, parameters: parameters)
        var linking: [[UInt32: [UInt32]]] = []
        for s in try store.liveSlots() {
            for layer in 0...(try store.level(of: s)) {
                while linking.count <= layer { linking.append([:]) }
                for n in try store.neighbors(of: s, layer: layer) { linking[layer][n, default: []].append(s) }
            }
        }
        var checked = 0
        for s in try store.liveSlots() where s % 7 == 0 {
            let level = try store.level(of: s)
            let links = try (0...level).map { try store.neighbors(of: s, layer: $0) }
            let found = try algorithm.findInNeighbors(of: s, level: level, links: links)
            for layer in 0...level {
                XCTAssertEqual(found[layer], (linking[layer][s] ?? []).sorted(), "slot \(s) layer \(layer)")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 400)
    }

    /// The same on an LMDB graph, where the beams are the store's specialised loop, after deletes
    /// that found their in-neighbours this way: every in-neighbour set equals a recount of the
    /// links, and the checker finds the graph sound.
    func testInNeighboursOfAnLMDBGraphAreExactlyThoseARecountFinds() throws {
        let env = try makeEnvironment("fute-repair")
        var rng = TestRNG(seed: 4_600)
        let d = 8
        let parameters = HNSWParameters(m: 4, efConstruction: 8, encoding: .float32)
        let data = rng.clustered(3_000, d)
        var checked = 0
        let kept = Set((0..<3_000).filter { $0 % 11 != 0 }.map { UInt64($0) })
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 1, dimension: d, metric: .l2, parameters: parameters, in: txn)
            try graph.withWriter(in: txn) { w in
                for (i, v) in data.enumerated() { try w.insert(key: UInt64(i), vector: v) }
                for key in stride(from: 0, to: 3_000, by: 11) { try w.remove(key: UInt64(key)) }
                let store = w.store
                var linking: [[UInt32: [UInt32]]] = []
                for s in try store.liveSlots() {
                    for layer in 0...(try store.level(of: s)) {
                        while linking.count <= layer { linking.append([:]) }
                        for n in try store.neighbors(of: s, layer: layer) { linking[layer][n, default: []].append(s) }
                    }
                }
                for s in try store.liveSlots() where s % 7 == 0 {
                    let level = try store.level(of: s)
                    let links = try (0...level).map { try store.neighbors(of: s, layer: $0) }
                    let found = try w.algorithm.findInNeighbors(of: s, level: level, links: links)
                    for layer in 0...level {
                        XCTAssertEqual(found[layer], (linking[layer][s] ?? []).sorted(), "slot \(s) layer \(layer)")
                    }
                    checked += 1
                }
            }
            // The deletes above repaired through these searches and scans: counts and links agree.
            XCTAssertEqual(try graph.checkInvariants(expectedKeys: kept, in: txn), [])
        }
        XCTAssertGreaterThan(checked, 350)
    }

    /// The checker reports a count that disagrees with the links (so the test above can fail).
    func testTheCheckerReportsAWrongInDegree() throws {
        let index = try HNSWIndex(dimension: 2, metric: .l2, parameters: HNSWParameters(m: 4, efConstruction: 8))
        for i in 0..<20 { try index.insert(key: UInt64(i), vector: [Float(i), Float(i % 3)]) }
        let slot = try XCTUnwrap(try index.store.slot(forKey: 7))
        index.store.inDegrees[Int(slot)][0] += 1
        let problems = try index.checkInvariants()
        let stored = try XCTUnwrap(try index.store.inDegree(of: slot, layer: 0))
        XCTAssertEqual(problems, [.inDegreeMismatch(slot: slot, layer: 0, stored: stored, counted: stored - 1)])
    }

    /// A delete and a 10-insert commit read a number of neighbour lists that does not grow
    /// with the graph: far fewer than one per node (a walk or a scan reads every node's list).
    func testDeletesAndSmallCommitsReadFewNeighbourLists() throws {
        var rng = TestRNG(seed: 4_500)
        let d = 8
        let n = 12_000
        let parameters = HNSWParameters(m: 8, efConstruction: 48)
        let index = try HNSWIndex(dimension: d, metric: .l2, parameters: parameters)
        var items: [UInt64: [Float]] = [:]
        let data = rng.clustered(n + 400, d)
        try index.insert(contentsOf: (0..<n).map { (key: UInt64($0), vector: data[$0]) })
        for i in 0..<n { items[UInt64(i)] = data[i] }
        let queries = (0..<40).map { _ in rng.clustered(1, d)[0] }
        func currentRecall() throws -> Double {
            let found = try queries.map { try index.search($0, k: 10, ef: 64).map(\.key) }
            return recall(found, queries.map { bruteForce($0, items, metric: .l2, k: 10) })
        }
        let recallBefore = try currentRecall()
        let counting = CountingStore(index.store)
        let algorithm = HNSWAlgorithm(store: counting, parameters: parameters)
        var context = SearchContext()
        var deleteReads: [Int] = []
        var commitReads: [Int] = []
        for round in 0..<40 {
            counting.listReads = 0
            let victim = UInt64.random(in: 0..<UInt64(n), using: &rng)
            XCTAssertEqual(try algorithm.remove(key: victim), items.removeValue(forKey: victim) != nil)
            deleteReads.append(counting.listReads)
            counting.listReads = 0
            for j in 0..<10 {
                let key = UInt64(n + round * 10 + j)
                try data[Int(key) % data.count].withUnsafeBufferPointer { v in
                    _ = try algorithm.insert(key: key, vector: v.baseAddress!, context: &context)
                }
                items[key] = data[Int(key) % data.count]
            }
            try algorithm.restoreReachability(context: &context)
            commitReads.append(counting.listReads)
        }
        let medianDelete = deleteReads.sorted()[deleteReads.count / 2]
        let medianCommit = commitReads.sorted()[commitReads.count / 2]
        print("median neighbour-list reads: delete \(medianDelete), 10-insert commit \(medianCommit), graph \(n) nodes")
        XCTAssertLessThan(medianDelete, n / 4)
        XCTAssertLessThan(medianCommit, n / 4)
        XCTAssertEqual(try index.checkInvariants(expectedKeys: Set(items.keys)), [])
        // Search finds what brute force finds as well as before the churn.
        let recallAfter = try currentRecall()
        print("recall@10 at ef 64: \(recallBefore) after the build, \(recallAfter) after the churn")
        XCTAssertGreaterThanOrEqual(recallAfter, recallBefore - 0.02)
    }

    /// A graph written before in-links were counted (format version 1) is searched as it is and
    /// counted on its first write; the counts then match the links.
    func testGraphsWithoutInDegreesAreCountedOnTheirFirstWrite() throws {
        let env = try makeEnvironment("fute-index-v1")
        let d = 8
        let parameters = HNSWParameters(m: 6, efConstruction: 40)
        var rng = TestRNG(seed: 4_600)
        let data = rng.clustered(900, d)
        var items: [UInt64: [Float]] = [:]
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 2, dimension: d, metric: .l2, parameters: parameters, in: txn)
            try graph.withWriter(in: txn) { w in
                for i in 0..<600 { try w.insert(key: UInt64(i), vector: data[i]); items[UInt64(i)] = data[i] }
            }
        }
        // Rewrite it as version 1 wrote it: no counts in the records, the old header.
        try env.write { txn in
            let store = try HNSWGraph(spaceID: 2, in: txn).makeStore(in: txn)
            for s in try store.liveSlots() {
                let r = try store.mutableRecord(s)
                r.storeBytes(of: r.load(as: UInt32.self) & NodeLayout.levelMask, as: UInt32.self)
                let level = try store.level(of: s)
                if level > 0 {
                    var record = try store.upperRecordForWriting(s)
                    for layer in 1...level { record[(layer - 1) * (1 + parameters.m)] &= NodeLayout.upperCountMask }
                    store.pendingUpper[s] = record
                }
            }
            store.header.version = 1
            store.headerDirty = true
            try store.flush()
        }
        let queries = (0..<30).map { _ in rng.clustered(1, d)[0] }
        try env.read { txn in
            let graph = try HNSWGraph(spaceID: 2, in: txn)
            XCTAssertEqual(try HNSWGraph.loadHeader(spaceID: 2, dbs: graph.databases, in: txn)?.version, 1)
            XCTAssertNil(try graph.makeStore(in: txn).inDegree(of: 0, layer: 0))
            XCTAssertEqual(try graph.checkInvariants(expectedKeys: Set(items.keys), in: txn), [])
            let found = try queries.map { try graph.search($0, k: 10, in: txn).map(\.key) }
            XCTAssertGreaterThanOrEqual(recall(found, queries.map { bruteForce($0, items, metric: .l2, k: 10) }), 0.95)
        }
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 2, in: txn)
            try graph.withWriter(in: txn) { w in
                for i in 600..<900 { try w.insert(key: UInt64(i), vector: data[i]); items[UInt64(i)] = data[i] }
                for key in stride(from: UInt64(0), to: 900, by: 7) { XCTAssertTrue(try w.remove(key: key)); items[key] = nil }
            }
        }
        try env.read { txn in
            let graph = try HNSWGraph(spaceID: 2, in: txn)
            XCTAssertEqual(try HNSWGraph.loadHeader(spaceID: 2, dbs: graph.databases, in: txn)?.version, GraphHeader.version(for: .float32))
            XCTAssertNotNil(try graph.makeStore(in: txn).inDegree(of: 1, layer: 0))
            // The checker compares every stored count with the links pointing at the node.
            XCTAssertEqual(try graph.checkInvariants(expectedKeys: Set(items.keys), in: txn), [])
            let found = try queries.map { try graph.search($0, k: 10, in: txn).map(\.key) }
            XCTAssertGreaterThanOrEqual(recall(found, queries.map { bruteForce($0, items, metric: .l2, k: 10) }), 0.95)
        }
    }
}
