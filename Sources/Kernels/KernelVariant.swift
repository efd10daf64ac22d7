import CFuteKernels

/// Which build of the distance kernels this process runs.
///
/// A default build carries two: the portable Swift SIMD kernels compiled for the build's target
/// (SSE on x86-64: a multiply and an add per lane pair) and, on x86-64 Linux, the same Swift source
/// compiled ahead of time with AVX2 and FMA (checked-in assembly, `Sources/CFuteKernels`). The
/// first distance call picks the AVX2+FMA build when the CPU and OS support it, unless the
/// environment sets `FUTE_KERNELS=portable`. `Distance` and the index's search loops follow the
/// choice; a `FUTE_NATIVE=1` build compiles everything for AVX2+FMA and needs no choice.
public enum KernelVariant: String, Sendable, CaseIterable {
    /// The Swift kernels compiled for the build's target CPU without FMA.
    case portable
    /// The AVX2+FMA build of the same kernels, chosen at run time.
    case avx2FMA
    /// A `FUTE_NATIVE=1` build: every Swift target compiled with AVX2+FMA (runs only on such CPUs).
    case native

    /// The variant in use (the first call makes the choice, from the CPU and `FUTE_KERNELS`).
    public static var active: KernelVariant {
        #if FUTE_FMA
        return .native
        #else
        return fute_kernels_use_avx2() != 0 ? .avx2FMA : .portable
        #endif
    }

    /// Whether this build carries the AVX2+FMA kernels and this CPU can run them (AVX2, FMA and F16C).
    public static var avx2FMASupported: Bool { fute_avx2_fma_supported() != 0 }

    /// One line for `--version` output: which kernels run and why.
    public static var summary: String {
        switch active {
        case .native:
            return "kernels: avx2+fma (FUTE_NATIVE build, compiled in)"
        case .avx2FMA:
            return "kernels: avx2+fma (runtime dispatch)"
        case .portable:
            if fute_kernels_environment_forces_portable() != 0 { return "kernels: portable simd (FUTE_KERNELS=portable)" }
            return "kernels: portable simd (" + (avx2FMASupported ? "forced" : "no AVX2+FMA+F16C on this CPU or platform") + ")"
        }
    }

    /// Makes `variant` the one in use (tests). `.avx2FMA` is granted only when supported; `nil`
    /// chooses again from the CPU and the environment. Returns the variant now in use. Not for
    /// use while other threads compute distances: a search keeps the variant it started with,
    /// but results of concurrent searches would then come from different kernels.
    @discardableResult
    static func force(_ variant: KernelVariant?) -> KernelVariant {
        switch variant {
        case nil: fute_kernels_force(-1)
        case .portable?: fute_kernels_force(0)
        case .avx2FMA?, .native?: fute_kernels_force(1)
        }
        return active
    }
}
