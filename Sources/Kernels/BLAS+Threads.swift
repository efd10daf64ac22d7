import COpenBLAS

extension BLAS {
    /// The number of threads OpenBLAS uses for a large product now: what `setThreads` set, else
    /// `OPENBLAS_NUM_THREADS`, else the core count. Code that splits its own loops across threads
    /// reads it so that one setting governs every part of a computation.
    public static var threads: Int { max(1, Int(openblas_get_num_threads())) }
}
