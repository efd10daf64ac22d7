import Foundation

/// A `pthread_rwlock_t` on a stable heap address (a Swift stored `pthread_rwlock_t` may move).
///
/// `@unchecked Sendable`: the lock is the synchronisation primitive itself; its storage is
/// allocated once, never moved, and destroyed only in `deinit` when no thread can hold it.
final class ReadWriteLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func lockShared() { pthread_rwlock_rdlock(lock) }
    func tryLockExclusive() -> Bool { pthread_rwlock_trywrlock(lock) == 0 }
    func unlock() { pthread_rwlock_unlock(lock) }
}

/// Identifies the calling OS thread, to detect a write transaction nested in another on the same thread.
@inline(__always)
func currentThreadID() -> pthread_t { pthread_self() }
