import Foundation
import Kernels

/// Monotonic clock in nanoseconds.
@inline(__always) func nanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Prints the loud warning NIOPerformanceTester prints: debug numbers are meaningless.
func printBuildBanner() {
    #if DEBUG
    let line = String(repeating: "=", count: 72)
    FileHandle.standardError.write(Data("""
    \(line)
    ===  DEBUG BUILD: these numbers are meaningless.                       ===
    ===  Build for measuring:  swift build -c release                      ===
    \(line)

    """.utf8))
    #endif
    // On stderr, so --json output stays one JSON document.
    FileHandle.standardError.write(Data("fute-bench: \(KernelVariant.summary)\n".utf8))
}

/// Runs `body` `warmUp` times untimed, then `runs` times timed; returns each run's seconds.
func measure(warmUp: Int = 1, runs: Int = 5, _ body: () throws -> Void) rethrows -> [Double] {
    for _ in 0..<warmUp { try body() }
    var times: [Double] = []
    for _ in 0..<runs {
        let start = nanoseconds()
        try body()
        times.append(Double(nanoseconds() - start) / 1e9)
    }
    return times
}

/// Percentile (0…100) of an unsorted sample.
func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count - 1)).rounded())))
    return sorted[rank]
}

func median(_ values: [Double]) -> Double { percentile(values, 50) }

/// Writes to standard error.
func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A benchmark failure with a message saying what to do.
struct BenchError: Error, CustomStringConvertible {
    let message: String
    let isUsage: Bool
    init(_ message: String, usage: Bool = false) { self.message = message; self.isUsage = usage }
    var description: String { message }
}

/// Minimal option parser: `--name value`, `--name=value`, flags, `-k v`.
struct Options {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    let flagNames: Set<String>

    init(_ arguments: [String], flags flagNames: Set<String>, known: Set<String>) throws {
        self.flagNames = flagNames
        var i = 0
        while i < arguments.count {
            var arg = arguments[i]
            if arg == "-k" { arg = "--k" }
            guard arg.hasPrefix("--") else { throw BenchError("unexpected argument '\(arg)'; options start with --", usage: true) }
            var name = String(arg.dropFirst(2))
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard known.contains(name) || flagNames.contains(name) else {
                throw BenchError("unknown option --\(name); see fute-bench --help", usage: true)
            }
            if flagNames.contains(name) {
                flags.insert(name)
            } else {
                if value == nil {
                    i += 1
                    guard i < arguments.count else { throw BenchError("--\(name) needs a value", usage: true) }
                    value = arguments[i]
                }
                values[name] = value
            }
            i += 1
        }
    }

    func string(_ name: String) -> String? { values[name] }
    func require(_ name: String) throws -> String {
        guard let v = values[name] else { throw BenchError("--\(name) is required", usage: true) }
        return v
    }
    func int(_ name: String, default d: Int) throws -> Int {
        guard let v = values[name] else { return d }
        guard let i = Int(v), i >= 0 else { throw BenchError("--\(name) takes a non-negative integer, got '\(v)'", usage: true) }
        return i
    }
    func double(_ name: String, default d: Double) throws -> Double {
        guard let v = values[name] else { return d }
        guard let x = Double(v), x.isFinite else { throw BenchError("--\(name) takes a number, got '\(v)'", usage: true) }
        return x
    }
    func ints(_ name: String, default d: [Int], allowingZero: Bool = false) throws -> [Int] {
        guard let v = values[name] else { return d }
        let parts = v.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        let least = allowingZero ? 0 : 1
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? -1) >= least }) else {
            let kind = allowingZero ? "non-negative" : "positive"
            throw BenchError("--\(name) takes a comma-separated list of \(kind) integers, got '\(v)'", usage: true)
        }
        return parts.compactMap { $0 }
    }
    func flag(_ name: String) -> Bool { flags.contains(name) }
}

/// JSON rendering of a flat-ish result object with stable key order.
func jsonString(_ object: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
          let s = String(data: data, encoding: .utf8) else { return "{}" }
    return s
}
