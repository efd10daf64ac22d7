import Foundation
import TestSupport
import XCTest
@testable import Kernels

/// Both builds of the distance kernels — portable Swift SIMD and the AVX2+FMA assembly generated
/// from the same source — each forced in turn, against the scalar reference; and the checked-in
/// assembly against what the generator makes of today's source.
final class KernelVariantTests: XCTestCase {
    override func tearDown() {
        KernelVariant.force(nil)  // back to the environment's and the CPU's choice
        super.tearDown()
    }

    /// The variants this machine can run. AVX2+FMA is skipped, visibly, on a CPU without it.
    func runnableVariants() -> [KernelVariant] {
        if isNativeBuild { return [.native] }  // one build of the kernels, compiled with AVX2+FMA
        if KernelVariant.avx2FMASupported { return [.portable, .avx2FMA] }
        print("note: this CPU or platform has no AVX2+FMA kernels; only the portable variant is tested")
        return [.portable]
    }

    /// A FUTE_NATIVE=1 build (the test targets themselves are not built with its flags).
    var isNativeBuild: Bool { KernelVariant.active == .native }

    func testForcingAVariantSelectsIt() {
        guard !isNativeBuild else {
            XCTAssertEqual(KernelVariant.summary, "kernels: avx2+fma (FUTE_NATIVE build, compiled in)")
            return
        }
        XCTAssertEqual(KernelVariant.force(.portable), .portable)
        XCTAssertEqual(KernelVariant.active, .portable)
        XCTAssertTrue(KernelVariant.summary.hasPrefix("kernels: portable simd"), KernelVariant.summary)
        XCTAssertEqual(KernelVariant.force(.avx2FMA), KernelVariant.avx2FMASupported ? .avx2FMA : .portable)
        if KernelVariant.avx2FMASupported {
            XCTAssertEqual(KernelVariant.summary, "kernels: avx2+fma (runtime dispatch)")
        }
    }

    /// On this machine (Zen 3, AVX2+FMA) the default is the AVX2+FMA build unless the
    /// environment forces portable: the point of the dispatch. Skipped on CPUs without AVX2+FMA.
    func testDefaultChoiceIsAVX2OnACPUThatHasIt() throws {
        guard !isNativeBuild else { throw XCTSkip("FUTE_NATIVE build: no choice to make") }
        guard KernelVariant.avx2FMASupported else { throw XCTSkip("no AVX2+FMA on this CPU or platform") }
        let expected: KernelVariant = ProcessInfo.processInfo.environment["FUTE_KERNELS"] == "portable" ? .portable : .avx2FMA
        XCTAssertEqual(KernelVariant.force(nil), expected)
    }

    /// Every variant, every dimension 1…300 and the benchmarks' 384/768/960, at pointers offset by
    /// 0–3 bytes from 16-byte alignment: within rounding of the double-precision reference, and
    /// (portable vs AVX2) within rounding of each other.
    func testEachVariantMatchesTheScalarReferenceAtOddLengthsAndUnalignedPointers() {
        var rng = TestRNG(seed: 2024)
        for variant in runnableVariants() {
            XCTAssertEqual(KernelVariant.force(variant), variant)
            for d in Array(1...300) + [384, 768, 960] {
                let a = rng.floats(d, in: -2...2), b = rng.floats(d, in: -2...2)
                let offsetA = d % 4, offsetB = (d / 4) % 4
                let raw = UnsafeMutableRawPointer.allocate(byteCount: 8 * d + 32, alignment: 16)
                defer { raw.deallocate() }
                // Safe: 4d bytes at offsetA and at 4d + 16 + offsetB fit in 8d + 32.
                a.withUnsafeBytes { (raw + offsetA).copyMemory(from: $0.baseAddress!, byteCount: 4 * d) }
                b.withUnsafeBytes { (raw + 4 * d + 16 + offsetB).copyMemory(from: $0.baseAddress!, byteCount: 4 * d) }
                let pa = (raw + offsetA).assumingMemoryBound(to: Float.self)
                let pb = (raw + 4 * d + 16 + offsetB).assumingMemoryBound(to: Float.self)

                let l2 = Reference.l2(a, b), dot = Reference.dot(a, b), cosine = Reference.cosine(a, b)
                let absDot = zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
                let tolerance = 1e-5 * max(1, absDot)
                XCTAssertEqual(Double(Distance.l2Squared(pa, pb, count: d)), l2, accuracy: 1e-5 * max(1, l2), "\(variant) l2 d=\(d)")
                XCTAssertEqual(Double(Distance.dot(pa, pb, count: d)), dot, accuracy: tolerance, "\(variant) dot d=\(d)")
                XCTAssertEqual(Double(Distance.cosineDistance(pa, pb, count: d)), cosine, accuracy: 1e-4, "\(variant) cosine d=\(d)")
                XCTAssertEqual(Double(Distance.squaredNorm(pa, count: d)), Reference.dot(a, a), accuracy: 1e-5 * max(1, Reference.dot(a, a)))
                // The variants differ only in rounding (fused vs separate multiply-add).
                XCTAssertEqual(Distance.l2Squared(pa, pb, count: d), Distance.Portable.l2Squared(pa, pb, count: d),
                               accuracy: Float(1e-5 * max(1, l2)), "\(variant) vs portable l2 d=\(d)")
                XCTAssertEqual(Distance.dot(pa, pb, count: d), Distance.Portable.dot(pa, pb, count: d),
                               accuracy: Float(tolerance), "\(variant) vs portable dot d=\(d)")
            }
            // Zero vectors and empty input behave the same in every variant.
            XCTAssertEqual(Distance.cosineDistance([0, 0, 0], [1, 2, 3]), 1)
            XCTAssertEqual(Distance.cosineDistance([Float](), []), 1)
            XCTAssertEqual(Distance.l2Squared([1, 2, 3], [4, 6, 3]), 25)
            XCTAssertEqual(Distance.dot([1, 2, 3], [4, 6, 3]), 25)
        }
    }

    /// The AVX2+FMA variant really is different code: with d = 32 the portable kernel rounds each
    /// product before adding, the fused one does not, and some random input shows it. (A test that
    /// would pass if dispatch silently always took the portable path otherwise.)
    func testAVX2VariantFusesMultiplyAdd() throws {
        guard !isNativeBuild else { throw XCTSkip("FUTE_NATIVE build: one build of the kernels") }
        guard KernelVariant.avx2FMASupported else { throw XCTSkip("no AVX2+FMA on this CPU or platform") }
        var rng = TestRNG(seed: 5)
        var differing = 0
        KernelVariant.force(.avx2FMA)
        for _ in 0..<200 {
            let a = rng.floats(64), b = rng.floats(64)
            if Distance.dot(a, b).bitPattern != a.withUnsafeBufferPointer({ pa in
                b.withUnsafeBufferPointer { pb in Distance.Portable.dot(pa.baseAddress!, pb.baseAddress!, count: 64) }
            }).bitPattern { differing += 1 }
        }
        XCTAssertGreaterThan(differing, 0, "the AVX2 variant gave the portable variant's bits on every input")
    }

    /// The checked-in assembly is what Tools/generate-avx2-kernels.sh makes of today's
    /// SIMDKernels.swift, when the toolchain is the one that generated it (otherwise code
    /// generation may differ without the source having changed: skipped, saying so).
    func testCheckedInAVX2AssemblyIsGeneratedFromTheCurrentSwiftSource() throws {
        let root = FuteProcess.packageRoot
        let checkedIn = root.appendingPathComponent("Sources/CFuteKernels/kernels_avx2_x86_64_linux.S")
        let text = try String(contentsOf: checkedIn, encoding: .utf8)
        let recorded = text.split(separator: "\n").first { $0.contains("Toolchain: ") }.map { String($0.split(separator: "Toolchain: ", maxSplits: 1)[1]) }
        let current = try run(["/usr/bin/env", "swiftc", "--version"]).split(separator: "\n").first.map(String.init)
        guard let recorded, let current, recorded == current else {
            throw XCTSkip("toolchain \(current ?? "?") is not the one that generated the assembly (\(recorded ?? "?"))")
        }
        #if !(arch(x86_64) && os(Linux))
        throw XCTSkip("the generator needs an x86-64 Linux toolchain")
        #else
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("fute-avx2-\(UUID().uuidString).S")
        defer { try? FileManager.default.removeItem(at: out) }
        _ = try run([root.appendingPathComponent("Tools/generate-avx2-kernels.sh").path, out.path])
        let regenerated = try String(contentsOf: out, encoding: .utf8)
        XCTAssertTrue(regenerated == text, "Sources/CFuteKernels/kernels_avx2_x86_64_linux.S is stale: run Tools/generate-avx2-kernels.sh")
        #endif
    }

    /// The assembly uses only what the CPU check tests (AVX, AVX2, FMA, F16C over the x86-64 base)
    /// and calls nothing but libm's sqrtf (the slow path of a negative square root): no Swift
    /// runtime. F16C's conversion from halves is used (the float16 graphs' kernels), the
    /// conversion to halves is not (vectors are encoded in the portable build).
    func testAVX2AssemblyNeedsNoOtherExtensionAndNoRuntime() throws {
        let text = try String(contentsOf: FuteProcess.packageRoot.appendingPathComponent("Sources/CFuteKernels/kernels_avx2_x86_64_linux.S"),
                              encoding: .utf8)
        let instructions = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(":") && !$0.hasPrefix("//") && !$0.hasPrefix("#") && !$0.isEmpty }
        XCTAssertGreaterThan(instructions.filter { $0.hasPrefix("vfmadd") }.count, 6, "no fused multiply-add in the AVX2 kernels")
        XCTAssertTrue(instructions.contains { $0.contains("%ymm") }, "no 256-bit registers in the AVX2 kernels")
        XCTAssertGreaterThan(instructions.filter { $0.hasPrefix("vcvtph2ps") && $0.contains("%ymm") }.count, 6,
                             "no F16C conversion in the half-precision kernels")
        // BMI1/2, LZCNT, MOVBE, ADX, RDRAND (what -target-cpu haswell would also allow), AVX-512.
        let foreign: Set<String> = ["shlx", "shrx", "sarx", "rorx", "andn", "bzhi", "pdep", "pext", "blsr", "blsi", "blsmsk",
                                    "lzcnt", "tzcnt", "movbe", "vcvtps2ph", "rdrand", "adcx", "adox"]
        for line in instructions {
            let mnemonic = String(line.prefix { !$0.isWhitespace })
            XCTAssertFalse(foreign.contains(mnemonic.hasSuffix("q") || mnemonic.hasSuffix("l") ? String(mnemonic.dropLast()) : mnemonic)
                           || foreign.contains(mnemonic) || line.contains("zmm") || line.contains("{%k"),
                           "instruction outside AVX2+FMA+F16C: \(line)")
            if line.hasPrefix("call") { XCTAssertTrue(line.contains("sqrtf@PLT"), "unexpected call: \(line)") }
        }
    }

    private func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "KernelVariantTests", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(arguments.joined(separator: " ")) exited \(process.terminationStatus)"])
        }
        return String(decoding: data, as: UTF8.self)
    }
}
