import Foundation
import TestSupport
import XCTest
import Kernels
import Storage
@testable import Index

final class HNSWGraphTests: XCTestCase {
    let d = 16

    func vectors(_ n: Int, seed: UInt64) -> [[Float]] {
        var rng = TestRNG(seed: seed)
        return rng.clustered(n, d)
    }

    /// Same keys, same order, same parameters: the LMDB graph answers exactly like the in-memory one.
    func testLMDBGraphMatchesInMemoryGraphAndBruteForce() throws {
        let env = try makeEnvironment()
        let parameters = HNSWParameters(m: 8, efConstruction: 64, efSearch: 64)
        let data = vectors(2_000, seed: 31)
        let memory = try HNSWIndex(dimension: d, metric: .l2, parameters: parameters)
        var items: [UInt64: [Float]] = [:]
        for (i, v) in data.enumerated() { try memory.insert(key: UInt64(i), vector: v); items[UInt64(i)] = v }
        // Several commits of 500, through the batch writer.
        for batch in stride(from: 0, to: data.count, by: 500) {
            try env.write { txn in
                let graph = try HNSWGraph(spaceID: 3, dimension: d, metric: .l2, parameters: parameters, in: txn)
                try graph.withWriter(in: txn) { w in
                    for i in batch..<min(batch + 500, data.count) { try w.insert(key: UInt64(i), vector: data[i]) }
                }
            }
        }
        var rng = TestRNG(seed: 32)
        let queries = (0..<50).map { _ in rng.clustered(1, d)[0] }
        try env.read { txn in
            let graph = try HNSWGraph(spaceID: 3, in: txn)
            XCTAssertEqual(try graph.count(in: txn), 2_000)
            XCTAssertEqual(try graph.checkInvariants(expectedKeys: Set(items.keys), in: txn), [])
            var got: [[UInt64]] = [], truth: [[UInt64]] = []
            try graph.withSearcher(in: txn) { searcher in
                for q in queries {
                    let hits = try searcher.search(q, k: 10)
                    XCTAssertEqual(hits.map(\.key), try memory.search(q, k: 10).map(\.key))
                    // Filtered (the LMDB searcher's specialised loop vs the generic one), a
                    // dense and a sparse filter.
                    for modulus in [2, 13] as [UInt64] {
                        let accept: (UInt64) -> Bool = { $0 % modulus == 1 }
                        let filtered = try searcher.search(q, k: 10, filter: accept)
                        XCTAssertEqual(filtered.map(\.key), try memory.search(q, k: 10, filter: accept).map(\.key))
                        XCTAssertEqual(filtered.map(\.distance), try memory.search(q, k: 10, filter: accept).map(\.distance))
                        XCTAssertTrue(filtered.allSatisfy { accept($0.key) })
                    }
                    got.append(hits.map(\.key))
                    truth.append(bruteForce(q, items, metric: .l2, k: 10))
                }
            }
            XCTAssertGreaterThan(recall(got, truth), 0.95)
        }
    }

    /// The LMDB writer inserts through the specialised layer search; the in-memory index through
    /// the generic loop. Same keys in the same order must give the very same links, node by node
    /// and layer by layer, for every metric (several commits, so inserts also read committed
    /// blocks and upper records). Float vectors on both sides (a float16 graph ranks by rounded
    /// vectors: HalfPrecisionGraphTests compares it with brute force instead).
    func testLMDBInsertPathBuildsTheSameLinksAsTheGenericPath() throws {
        for metric in Metric.allCases {
            let env = try makeEnvironment()
            let parameters = HNSWParameters(m: 6, efConstruction: 40, efSearch: 40, encoding: .float32)
            let data = vectors(1_200, seed: 77)
            let memory = try HNSWIndex(dimension: d, metric: metric, parameters: parameters)
            // The same batches (each ends with a reachability walk, which may add links).
            for batch in stride(from: 0, to: data.count, by: 300) {
                try memory.insert(contentsOf: (batch..<min(batch + 300, data.count)).map { (key: UInt64($0), vector: data[$0]) })
            }
            for batch in stride(from: 0, to: data.count, by: 300) {
                try env.write { txn in
                    let graph = try HNSWGraph(spaceID: 5, dimension: d, metric: metric, parameters: parameters, in: txn)
                    try graph.withWriter(in: txn) { w in
                        for i in batch..<min(batch + 300, data.count) { try w.insert(key: UInt64(i), vector: data[i]) }
                    }
                }
            }
            try env.read { txn in
                let stored = try HNSWGraph(spaceID: 5, in: txn).makeStore(in: txn)
                XCTAssertEqual(stored.slotCapacity, memory.store.slotCapacity)
                XCTAssertEqual(try stored.entryPoint()?.slot, try memory.store.entryPoint()?.slot)
                var differing = 0
                for s in 0..<UInt32(stored.slotCapacity) {
                    XCTAssertEqual(try stored.key(of: s), try memory.store.key(of: s))
                    let level = try memory.store.level(of: s)
                    XCTAssertEqual(try stored.level(of: s), level)
                    for layer in 0...level where try stored.neighbors(of: s, layer: layer) != memory.store.neighbors(of: s, layer: layer) {
                        differing += 1
                    }
                }
                XCTAssertEqual(differing, 0, "\(metric): link lists differ between the LMDB and in-memory graphs")
            }
        }
    }

    /// Many small commits (10 inserts, a delete, a replace), each writer starting from the block
    /// addresses the previous commit carried over, with a reader in between now and then (it
    /// takes the carried addresses and gives them back with its own), must build the very graph
    /// that the same commits build when every writer starts empty (an unrelated commit after
    /// each one drops what it carried): node by node and layer by layer. A block address kept
    /// past the commit that rewrote its block would read the old links.
    func testSmallCommitsThatCarryBlockAddressesSeeEveryEarlierWrite() throws {
        let parameters = HNSWParameters(m: 6, efConstruction: 40, efSearch: 40)
        let data = vectors(1_700, seed: 83)
        let carrying = try makeEnvironment(), starting = try makeEnvironment()
        let other = try starting.openDatabase(named: "other")
        func write(_ body: (HNSWWriter) throws -> Void) throws {
            for env in [carrying, starting] {
                try env.write { txn in
                    let graph = try HNSWGraph(spaceID: 4, dimension: d, metric: .l2, parameters: parameters, in: txn)
                    try graph.withWriter(in: txn, body)
                }
            }
            try starting.write { try $0.put([1], forKey: "tick", in: other) }
        }
        for batch in stride(from: 0, to: 1_000, by: 250) {
            try write { w in for i in batch..<(batch + 250) { try w.insert(key: UInt64(i), vector: data[i]) } }
        }
        let adoptionsBefore = (carrying.snapshotPageCache.adoptionCount, starting.snapshotPageCache.adoptionCount)
        var rng = TestRNG(seed: 84)
        var next = 1_000
        for round in 0..<60 {
            let first = next
            try write { w in for i in first..<(first + 10) { try w.insert(key: UInt64(i), vector: data[i]) } }
            next += 10
            let gone = UInt64(rng.next() % UInt64(next))
            try write { w in _ = try w.remove(key: gone) }
            let replaced = UInt64(rng.next() % UInt64(next)), row = 1_600 + round
            try write { w in try w.insert(key: replaced, vector: data[row]) }
            if round % 7 == 3 {
                let hits = try carrying.read { txn in try HNSWGraph(spaceID: 4, in: txn).search(data[row], k: 1, in: txn) }
                XCTAssertEqual(hits.first?.key, replaced)
            }
        }
        XCTAssertGreaterThanOrEqual(carrying.snapshotPageCache.adoptionCount - adoptionsBefore.0, 170,
                                    "each small commit should start from the addresses the previous one carried")
        XCTAssertEqual(starting.snapshotPageCache.adoptionCount - adoptionsBefore.1, 0, "the reference graph's writers start empty")
        try carrying.read { txn in
            try starting.read { reference in
                let graph = try HNSWGraph(spaceID: 4, in: txn)
                XCTAssertEqual(try graph.checkInvariants(in: txn), [])
                let stored = try graph.makeStore(in: txn), expected = try HNSWGraph(spaceID: 4, in: reference).makeStore(in: reference)
                XCTAssertEqual(stored.slotCapacity, expected.slotCapacity)
                XCTAssertEqual(try stored.entryPoint()?.slot, try expected.entryPoint()?.slot)
                let live = try expected.liveSlots()
                XCTAssertEqual(try stored.liveSlots(), live)
                var differing = 0
                for s in live {
                    XCTAssertEqual(try stored.key(of: s), try expected.key(of: s))
                    let level = try expected.level(of: s)
                    XCTAssertEqual(try stored.level(of: s), level)
                    for layer in 0...level where try stored.neighbors(of: s, layer: layer) != expected.neighbors(of: s, layer: layer) {
                        differing += 1
                    }
                }
                XCTAssertEqual(differing, 0, "link lists differ between the graph whose writers carried addresses and the reference")
            }
        }
    }

    /// Writers of one transaction pass the addresses on; one that fails after taking them (its
    /// error caught, the transaction going on) leaves the next writer without them, so nothing
    /// of what the first wrote is read through a stale address; the graph stays whole.
    func testAWriterThatFailsInsideATransactionStopsTheCarrying() throws {
        let env = try makeEnvironment()
        let parameters = HNSWParameters(m: 6, efConstruction: 40, efSearch: 64)
        let data = vectors(900, seed: 91)
        struct Stop: Error {}
        func graph(_ txn: WriteTransaction) throws -> HNSWGraph {
            try HNSWGraph(spaceID: 6, dimension: d, metric: .l2, parameters: parameters, in: txn)
        }
        try env.write { txn in try graph(txn).withWriter(in: txn) { w in for i in 0..<500 { try w.insert(key: UInt64(i), vector: data[i]) } } }
        let before = env.snapshotPageCache.adoptionCount
        try env.write { txn in
            try graph(txn).withWriter(in: txn) { w in for i in 500..<600 { try w.insert(key: UInt64(i), vector: data[i]) } }
            XCTAssertThrowsError(try graph(txn).withWriter(in: txn) { w in
                try w.insert(key: 600, vector: data[600])
                throw Stop()
            })
            try graph(txn).withWriter(in: txn) { w in for i in 601..<700 { try w.insert(key: UInt64(i), vector: data[i]) } }
        }
        XCTAssertEqual(env.snapshotPageCache.adoptionCount - before, 1, "the first writer took what the last commit carried")
        try env.write { txn in try graph(txn).withWriter(in: txn) { w in for i in 700..<900 { try w.insert(key: UInt64(i), vector: data[i]) } } }
        XCTAssertEqual(env.snapshotPageCache.adoptionCount - before, 1, "the third writer did not carry: nothing left that transaction")
        try env.read { txn in
            let g = try HNSWGraph(spaceID: 6, in: txn)
            let expected = Set((0..<900).map(UInt64.init)).subtracting([600])
            XCTAssertEqual(try g.checkInvariants(expectedKeys: expected, in: txn), [])
            for i in expected.sorted() where i % 9 == 0 {
                XCTAssertEqual(try g.search(data[Int(i)], k: 1, in: txn).first?.key, i)
            }
        }
    }

    /// One query per read transaction (as FuteDB's `nearest`) reuses the block addresses an
    /// earlier reader of the same snapshot looked up; after each commit the readers must see
    /// the new graph: every stored vector found at distance 0 under its key, removed keys gone.
    func testOneQueryPerReadTransactionSeesEveryCommit() throws {
        let env = try makeEnvironment()
        let parameters = HNSWParameters(m: 8, efConstruction: 64, efSearch: 64)
        var rng = TestRNG(seed: 41)
        var items: [UInt64: [Float]] = [:]
        var nextKey: UInt64 = 0
        let adoptionsBefore = env.snapshotPageCache.adoptionCount
        for round in 0..<4 {
            try env.write { txn in
                let graph = try HNSWGraph(spaceID: 9, dimension: d, metric: .l2, parameters: parameters, in: txn)
                try graph.withWriter(in: txn) { w in
                    if round > 0 {
                        for key in items.keys.sorted().prefix(40) { XCTAssertTrue(try w.remove(key: key)); items[key] = nil }
                        for key in items.keys.sorted().prefix(40) {
                            let v = rng.vector(d)
                            try w.insert(key: key, vector: v)
                            items[key] = v
                        }
                    }
                    for _ in 0..<300 {
                        let v = rng.vector(d)
                        try w.insert(key: nextKey, vector: v)
                        items[nextKey] = v
                        nextKey += 1
                    }
                }
            }
            var missed = 0
            for (key, v) in items.sorted(by: { $0.key < $1.key }) {
                let hit = try env.read { txn in try HNSWGraph(spaceID: 9, in: txn).search(v, k: 1, ef: 64, in: txn).first }
                if hit?.key != key || hit?.distance != 0 { missed += 1 }
            }
            XCTAssertEqual(missed, 0, "round \(round): stored vectors not found under their keys")
            let removed = try env.read { txn in try HNSWGraph(spaceID: 9, in: txn).count(in: txn) }
            XCTAssertEqual(removed, items.count)
        }
        XCTAssertGreaterThan(env.snapshotPageCache.adoptionCount - adoptionsBefore, 1_000,
                             "later readers of a snapshot should reuse the addresses")
    }

    func testRandomOperationsAcrossTransactionsKeepInvariants() throws {
        let env = try makeEnvironment()
        let parameters = HNSWParameters(m: 4, efConstruction: 32, efSearch: 32)
        var rng = TestRNG(seed: 41)
        var items: [UInt64: [Float]] = [:]
        for round in 0..<12 {
            try env.write { txn in
                let graph = try HNSWGraph(spaceID: 1, dimension: 8, metric: .cosine, parameters: parameters, in: txn)
                for _ in 0..<100 {
                    let key = UInt64.random(in: 0..<150, using: &rng)
                    if Int.random(in: 0..<10, using: &rng) < 6 {
                        let v = rng.vector(8)
                        // Alternate per-call and batch writers.
                        if round % 2 == 0 { try graph.insert(key: key, vector: v, in: txn) } else {
                            try graph.withWriter(in: txn) { try $0.insert(key: key, vector: v) }
                        }
                        items[key] = v
                    } else {
                        XCTAssertEqual(try graph.remove(key: key, in: txn), items[key] != nil)
                        items[key] = nil
                    }
                }
            }
            try env.read { txn in
                let graph = try HNSWGraph(spaceID: 1, in: txn)
                XCTAssertEqual(try graph.checkInvariants(expectedKeys: Set(items.keys), in: txn), [], "round \(round)")
                XCTAssertEqual(try graph.count(in: txn), items.count)
            }
        }
        try env.read { txn in
            let graph = try HNSWGraph(spaceID: 1, in: txn)
            for (key, v) in items.prefix(20) {
                XCTAssertEqual(try graph.search(v, k: 1, ef: 64, in: txn).first?.key, key)
            }
        }
    }

    func testDeletingHalfKeepsRecall() throws {
        let env = try makeEnvironment()
        let parameters = HNSWParameters(m: 8, efConstruction: 64, efSearch: 64)
        let data = vectors(1_500, seed: 51)
        var items: [UInt64: [Float]] = [:]
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 9, dimension: d, metric: .l2, parameters: parameters, in: txn)
            try graph.withWriter(in: txn) { w in
                for (i, v) in data.enumerated() { try w.insert(key: UInt64(i), vector: v); items[UInt64(i)] = v }
            }
        }
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 9, dimension: d, metric: .l2, parameters: parameters, in: txn)
            try graph.withWriter(in: txn) { w in
                for key in stride(from: UInt64(0), to: 1_500, by: 2) { XCTAssertTrue(try w.remove(key: key)); items[key] = nil }
            }
        }
        var rng = TestRNG(seed: 52)
        let queries = (0..<50).map { _ in rng.clustered(1, d)[0] }
        let truth = queries.map { bruteForce($0, items, metric: .l2, k: 10) }
        let afterDelete: Double = try env.read { txn in
            let graph = try HNSWGraph(spaceID: 9, in: txn)
            XCTAssertEqual(try graph.checkInvariants(expectedKeys: Set(items.keys), in: txn), [])
            return recall(try queries.map { try graph.search($0, k: 10, in: txn).map(\.key) }, truth)
        }
        let fresh = try HNSWIndex(dimension: d, metric: .l2, parameters: parameters)
        for key in items.keys.sorted() { try fresh.insert(key: key, vector: items[key]!) }
        let freshRecall = recall(try queries.map { try fresh.search($0, k: 10).map(\.key) }, truth)
        print("recall@10 after deleting half: \(afterDelete), fresh build: \(freshRecall)")
        XCTAssertGreaterThanOrEqual(afterDelete, freshRecall - 0.02, "after delete \(afterDelete), fresh \(freshRecall)")
        // Freed slots are reused: inserting 750 new keys does not grow the slot count.
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 9, dimension: d, metric: .l2, parameters: parameters, in: txn)
            try graph.withWriter(in: txn) { w in
                for i in 0..<750 { try w.insert(key: UInt64(10_000 + i), vector: data[i]) }
            }
            let header = try HNSWGraph.loadHeader(spaceID: 9, dbs: graph.databases, in: txn)
            XCTAssertEqual(header?.slotCount, 1_500)
            XCTAssertEqual(try graph.checkInvariants(in: txn), [])
        }
    }

    /// A block fills one LMDB overflow page (LMDB's own statistics: one overflow page per block),
    /// so the pages a commit frees are reusable one at a time; a node wider than a page gets a
    /// block of its own.
    func testABlockIsOneOverflowPage() throws {
        let env = try makeEnvironment()
        let pageSize = try env.stat().pageSize
        for (index, dimension) in [2, 16, 48, 128, 384, 768, 1_000, 4_096].enumerated() {
            let spaceID = UInt32(index + 1)
            let header = try env.write { txn -> GraphHeader? in
                let graph = try HNSWGraph(spaceID: spaceID, dimension: dimension, metric: .l2, parameters: .init(), in: txn)
                return try HNSWGraph.loadHeader(spaceID: spaceID, dbs: graph.databases, in: txn)
            }
            let h = try XCTUnwrap(header)
            let usable = pageSize - 16
            if h.stride > usable {
                XCTAssertEqual(h.nodesPerBlock, 1, "dimension \(dimension)")
            } else {
                XCTAssertLessThanOrEqual(h.nodesPerBlock * h.stride, usable, "dimension \(dimension)")
                XCTAssertGreaterThan((h.nodesPerBlock + 1) * h.stride, usable, "dimension \(dimension): the page holds one more node")
                XCTAssertGreaterThan(h.nodesPerBlock * h.stride, pageSize / 2, "dimension \(dimension): a block this small would not be an overflow page")
            }
        }
        var rng = TestRNG(seed: 61)
        let data = rng.clustered(300, 128)
        let blocks = try env.write { txn -> (entries: Int, overflow: Int) in
            let graph = try HNSWGraph(spaceID: 4, dimension: 128, metric: .l2, parameters: .init(), in: txn)
            try graph.withWriter(in: txn) { w in
                for (i, v) in data.enumerated() { try w.insert(key: UInt64(i), vector: v) }
            }
            let stats = try txn.statistics(of: graph.databases.blocks)
            return (stats.entries, stats.overflowPages)
        }
        let perBlock = try env.read { txn in try XCTUnwrap(try HNSWGraph.loadHeader(spaceID: 4, dbs: HNSWDatabases(openingIn: txn), in: txn)).nodesPerBlock }
        XCTAssertEqual(blocks.entries, (300 + perBlock - 1) / perBlock)
        XCTAssertEqual(blocks.overflow, blocks.entries, "one overflow page per block")
    }

    /// Stores made with the first layout (~16 KiB blocks over four pages) keep their layout: the
    /// header says how many nodes a block holds, and search, insert and delete follow it.
    func testGraphsOfTheFirstBlockLayoutKeepWorking() throws {
        let env = try makeEnvironment()
        let parameters = HNSWParameters(m: 8, efConstruction: 64, efSearch: 64)
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 3, dimension: d, metric: .l2, parameters: parameters, in: txn)
            var header = try XCTUnwrap(try HNSWGraph.loadHeader(spaceID: 3, dbs: graph.databases, in: txn))
            header.nodesPerBlock = (4 * 4_096 - 64) / header.stride
            try txn.put(header.encoded(), forKey: FixedWidthKey(UInt32(3)), in: graph.databases.meta)
        }
        let data = vectors(800, seed: 62)
        var items: [UInt64: [Float]] = [:]
        for batch in stride(from: 0, to: data.count, by: 200) {
            try env.write { txn in
                let graph = try HNSWGraph(spaceID: 3, dimension: d, metric: .l2, parameters: parameters, in: txn)
                try graph.withWriter(in: txn) { w in
                    for i in batch..<batch + 200 { try w.insert(key: UInt64(i), vector: data[i]); items[UInt64(i)] = data[i] }
                    for key in stride(from: UInt64(batch), to: UInt64(batch + 200), by: 5) { XCTAssertTrue(try w.remove(key: key)); items[key] = nil }
                }
            }
        }
        var rng = TestRNG(seed: 63)
        let queries = (0..<40).map { _ in rng.clustered(1, d)[0] }
        let truth = queries.map { bruteForce($0, items, metric: .l2, k: 10) }
        try env.read { txn in
            let graph = try HNSWGraph(spaceID: 3, in: txn)
            let header = try XCTUnwrap(try HNSWGraph.loadHeader(spaceID: 3, dbs: graph.databases, in: txn))
            XCTAssertEqual(header.nodesPerBlock, (4 * 4_096 - 64) / header.stride, "the stored layout is kept")
            XCTAssertEqual(try graph.checkInvariants(expectedKeys: Set(items.keys), in: txn), [])
            let found = recall(try queries.map { try graph.search($0, k: 10, in: txn).map(\.key) }, truth)
            XCTAssertGreaterThanOrEqual(found, 0.95)
        }
    }

    func testAbortedWriteLeavesGraphUnchanged() throws {
        let env = try makeEnvironment()
        struct Abort: Error {}
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 1, dimension: 2, metric: .l2, parameters: .init(), in: txn)
            try graph.insert(key: 1, vector: [0, 0], in: txn)
        }
        XCTAssertThrowsError(try env.write { txn in
            let graph = try HNSWGraph(spaceID: 1, dimension: 2, metric: .l2, parameters: .init(), in: txn)
            try graph.insert(key: 2, vector: [1, 1], in: txn)
            try graph.remove(key: 1, in: txn)
            throw Abort()
        })
        try env.read { txn in
            let graph = try HNSWGraph(spaceID: 1, in: txn)
            XCTAssertEqual(try graph.search([1, 1], k: 5, in: txn).map(\.key), [1])
            XCTAssertEqual(try graph.checkInvariants(expectedKeys: [1], in: txn), [])
        }
    }

    func testReopeningWithOtherDimensionOrMetricThrowsMismatch() throws {
        let env = try makeEnvironment()
        try env.write { txn in _ = try HNSWGraph(spaceID: 1, dimension: 4, metric: .l2, parameters: .init(), in: txn) }
        XCTAssertThrowsError(try env.write { txn in _ = try HNSWGraph(spaceID: 1, dimension: 5, metric: .l2, parameters: .init(), in: txn) }) {
            XCTAssertEqual(($0 as? IndexError)?.code, .mismatch)
        }
        XCTAssertThrowsError(try env.write { txn in _ = try HNSWGraph(spaceID: 1, dimension: 4, metric: .ip, parameters: .init(), in: txn) })
    }

    func testSpacesAreIndependentAndDropRemovesOne() throws {
        let env = try makeEnvironment()
        try env.write { txn in
            let a = try HNSWGraph(spaceID: 1, dimension: 2, metric: .l2, parameters: .init(), in: txn)
            let b = try HNSWGraph(spaceID: 2, dimension: 3, metric: .cosine, parameters: .init(), in: txn)
            try a.insert(key: 5, vector: [1, 0], in: txn)
            try b.insert(key: 5, vector: [0, 0, 1], in: txn)
            try b.insert(key: 6, vector: [0, 1, 1], in: txn)
            try a.drop(in: txn)
        }
        try env.read { txn in
            XCTAssertFalse(try HNSWGraph.exists(spaceID: 1, in: txn))
            let b = try HNSWGraph(spaceID: 2, in: txn)
            XCTAssertEqual(try b.search([0, 0, 1], k: 2, in: txn).map(\.key), [5, 6])
        }
    }

    func testFilteredSearchInPlace() throws {
        let env = try makeEnvironment()
        let data = vectors(1_000, seed: 61)
        var items: [UInt64: [Float]] = [:]
        try env.write { txn in
            let g = try HNSWGraph(spaceID: 1, dimension: d, metric: .l2, parameters: .init(m: 8, efConstruction: 64), in: txn)
            try g.withWriter(in: txn) { w in for (i, v) in data.enumerated() { try w.insert(key: UInt64(i), vector: v); items[UInt64(i)] = v } }
        }
        try env.read { txn in
            let g = try HNSWGraph(spaceID: 1, in: txn)
            let q = data[7]
            let hits = try g.search(q, k: 10, ef: 128, filter: { $0 % 3 == 1 }, in: txn)
            XCTAssertTrue(hits.allSatisfy { $0.key % 3 == 1 })
            XCTAssertEqual(Set(hits.map(\.key)).intersection(bruteForce(q, items, metric: .l2, k: 10) { $0 % 3 == 1 }).count, 10, accuracy: 1)
        }
    }

    /// Readers on several threads search while a writer commits batches: every reader sees a
    /// consistent snapshot (all keys below the snapshot's count, each findable at distance 0).
    func testReadersSeeConsistentSnapshotsWhileWriterInserts() throws {
        let env = try makeEnvironment()
        let _ = try HNSWDatabases(environment: env)
        let dim = 8
        @Sendable func vector(_ key: UInt64) -> [Float] {
            var rng = TestRNG(seed: key &* 7919 &+ 1)
            return rng.vector(dim)
        }
        let parameters = HNSWParameters(m: 6, efConstruction: 40, efSearch: 40)
        try env.write { txn in
            let g = try HNSWGraph(spaceID: 1, dimension: dim, metric: .l2, parameters: parameters, in: txn)
            try g.insert(key: 0, vector: vector(0), in: txn)
        }
        let batches = 20, perBatch = 40
        let failures = FailureLog()
        let done = DoneFlag()
        let group = DispatchGroup()
        for reader in 0..<3 {
            DispatchQueue.global().async(group: group) {
                var rounds = 0
                while !done.isSet || rounds < 3 {
                    rounds += 1
                    do {
                        try env.read { txn in
                            let g = try HNSWGraph(spaceID: 1, in: txn)
                            let n = try g.count(in: txn)
                            try g.withSearcher(in: txn) { s in
                                for probe in [UInt64(n - 1), UInt64(n / 2), UInt64(reader)] where probe < n {
                                    let hits = try s.search(vector(probe), k: 3, ef: 64)
                                    if hits.contains(where: { $0.key >= n }) { failures.add("reader saw key beyond snapshot count \(n)") }
                                    if hits.first?.distance != 0 { failures.add("key \(probe) not found in snapshot of \(n)") }
                                }
                            }
                        }
                    } catch { failures.add("reader error: \(error)") }
                }
            }
        }
        for b in 0..<batches {
            try env.write { txn in
                let g = try HNSWGraph(spaceID: 1, dimension: dim, metric: .l2, parameters: parameters, in: txn)
                try g.withWriter(in: txn) { w in
                    for i in 0..<perBatch { let key = UInt64(1 + b * perBatch + i); try w.insert(key: key, vector: vector(key)) }
                }
            }
        }
        done.set()
        group.wait()
        XCTAssertEqual(failures.messages.prefix(5), [])
        try env.read { txn in
            let g = try HNSWGraph(spaceID: 1, in: txn)
            XCTAssertEqual(try g.checkInvariants(expectedKeys: Set((0...UInt64(batches * perBatch)).map { $0 }), in: txn), [])
        }
    }
}

/// Thread-safe collectors for the concurrency test (locks make the @unchecked honest).
final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func add(_ s: String) { lock.lock(); stored.append(s); lock.unlock() }
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}

final class DoneFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
