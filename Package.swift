// swift-tools-version:6.0
// fute-db: an embedded vector database for task embeddings (FUTE), on LMDB and OpenBLAS.
import Foundation
import PackageDescription

/// The distance kernels run with AVX2+FMA on CPUs that have them in every build: CFuteKernels
/// carries the AVX2+FMA build of the Swift kernels as checked-in assembly and Kernels chooses at
/// run time (README, "Fast kernels"). `FUTE_NATIVE=1 swift build -c release` additionally compiles
/// Kernels, Index, Ingest and fute-bench for AVX2+FMA (the encoder's attention, the search loop
/// around the kernels); the binary then needs such a CPU. It is an environment switch because
/// Swift refuses `unsafeFlags` in packages consumed by version.
let native = ProcessInfo.processInfo.environment["FUTE_NATIVE"].map { $0 != "0" && !$0.isEmpty } ?? false
let nativeSwift: [SwiftSetting] = native ? [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-target-cpu", "znver3"]), .define("FUTE_FMA")] : []

let package = Package(
    name: "fute-db",
    products: [
        .library(name: "FuteDB", targets: ["FuteDB"]),
        .library(name: "FuteIngest", targets: ["Readers", "Encoder", "Embedders", "Ingest"]),
        .executable(name: "fute-db", targets: ["fute-db"]),
        .executable(name: "fute-bench", targets: ["fute-bench"]),
    ],
    targets: [
        .systemLibrary(name: "CLMDB", path: "Sources/CLMDB", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "Storage", dependencies: ["CLMDB"]),
        // The AVX2+FMA kernels (assembly generated from Sources/Kernels/SIMDKernels.swift by
        // Tools/generate-avx2-kernels.sh) and the CPU check; no flags needed to build it.
        .target(name: "CFuteKernels"),
        .target(name: "Kernels", dependencies: ["COpenBLAS", "CFuteKernels"], swiftSettings: nativeSwift, linkerSettings: [.linkedLibrary("m")]),
        .target(name: "Index", dependencies: ["Kernels", "CFuteKernels", "Storage"], swiftSettings: nativeSwift),
        .target(name: "FuteDB", dependencies: ["Storage", "Kernels", "Index"]),
        // Ingestion, in three layers that never touch LMDB: file readers (vectors, datasets,
        // observations); the MiniLM encoder; the embedders (TextEmb, FUTE DTE/MTE), which compute
        // vectors and use FuteDB only for its value types. `Ingest` is the store glue.
        .target(name: "Readers"),
        .target(name: "Encoder", dependencies: ["Readers", "Kernels"], swiftSettings: nativeSwift),
        .target(name: "Embedders", dependencies: ["Readers", "Encoder", "Kernels", "FuteDB"], swiftSettings: nativeSwift),
        .target(name: "Ingest", dependencies: ["Readers", "Encoder", "Embedders", "FuteDB"]),
        .target(name: "FuteCLI", dependencies: ["FuteDB", "Readers", "Encoder", "Embedders", "Ingest"]),
        .executableTarget(name: "fute-db", dependencies: ["FuteCLI"]),
        .target(name: "CReference", path: "Benchmarks/CReference",
                cSettings: [.unsafeFlags(["-O3", "-march=native"])]),
        .executableTarget(name: "fute-bench", dependencies: ["FuteDB", "Readers", "Encoder", "Embedders", "Ingest", "Kernels", "Index", "CReference"],
                          path: "Benchmarks/fute-bench", swiftSettings: nativeSwift),
        // Helpers shared by the test targets that run the `fute-db` binary (not a product).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "StorageTests", dependencies: ["Storage"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),
        .testTarget(name: "IndexTests", dependencies: ["Index", "Kernels", "Storage", "TestSupport"]),
        .testTarget(name: "FuteDBTests", dependencies: ["FuteDB", "Storage", "TestSupport"]),
        .testTarget(name: "IngestTests", dependencies: ["Readers", "Encoder", "Embedders", "Ingest", "FuteDB", "TestSupport"]),
        .testTarget(name: "FuteCLITests", dependencies: ["FuteCLI", "FuteDB", "Readers", "TestSupport"]),
        .testTarget(name: "ReliabilityTests", dependencies: ["FuteCLI", "FuteDB", "Storage", "Index", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
