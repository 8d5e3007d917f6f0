import Glibc
import Synchronization

/// The allocator behind `SecretBytes`: memory that is locked in RAM (no swap), excluded from core dumps and
/// wiped before it is reused or returned. Small blocks come from 64 KiB slabs so that 10,000 short tokens do
/// not cost 10,000 pages; large blocks get their own mapping.
public enum SecureMemory {
    public struct Stats: Sendable, Equatable {
        /// Bytes currently handed out to secret buffers.
        public var bytesInUse: Int
        /// Bytes mapped for secrets (slabs and large blocks).
        public var bytesMapped: Int
        /// Number of mappings that could not be mlock'ed (RLIMIT_MEMLOCK too small); they are still wiped and
        /// excluded from core dumps.
        public var lockFailures: Int
    }

    static let slabSize = 64 * 1024
    static let sizeClasses = [32, 64, 128, 256, 512, 1024, 2048]
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    private struct State {
        // Addresses rather than pointers: raw pointers are not Sendable, and the Mutex needs sendable state.
        var freeLists: [[UInt]] = Array(repeating: [], count: SecureMemory.sizeClasses.count)
        var stats = Stats(bytesInUse: 0, bytesMapped: 0, lockFailures: 0)
    }
    private static let state = Mutex(State())

    public static var stats: Stats { state.withLock { $0.stats } }

    static func classIndex(for size: Int) -> Int? { sizeClasses.firstIndex { $0 >= size } }

    /// Returns the capacity actually provided (never smaller than `size`).
    static func allocate(_ size: Int) -> (UnsafeMutableRawPointer, Int) {
        let want = max(size, 1)
        if let index = classIndex(for: want) {
            let blockSize = sizeClasses[index]
            let address = state.withLock { state -> UInt in
                if state.freeLists[index].isEmpty {
                    let (slab, locked) = mapLocked(slabSize)
                    state.stats.bytesMapped += slabSize
                    if !locked { state.stats.lockFailures += 1 }
                    for offset in stride(from: 0, to: slabSize, by: blockSize).reversed() {
                        state.freeLists[index].append(UInt(bitPattern: slab + offset))
                    }
                }
                state.stats.bytesInUse += blockSize
                return state.freeLists[index].removeLast()
            }
            return (UnsafeMutableRawPointer(bitPattern: address)!, blockSize)
        }
        let length = (want + pageSize - 1) / pageSize * pageSize
        let (pointer, locked) = mapLocked(length)
        state.withLock { state in
            state.stats.bytesMapped += length
            state.stats.bytesInUse += length
            if !locked { state.stats.lockFailures += 1 }
        }
        return (pointer, length)
    }

    /// Overwrites memory this type does not own (an environment string, say) with zeros that the compiler
    /// cannot optimise away.
    public static func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
        if let base = buffer.baseAddress { explicit_bzero(base, buffer.count) }
    }

    /// Wipes the whole block, then recycles it.
    static func release(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        explicit_bzero(pointer, capacity)
        if let index = classIndex(for: capacity), sizeClasses[index] == capacity {
            let address = UInt(bitPattern: pointer)
            state.withLock { state in
                state.freeLists[index].append(address)
                state.stats.bytesInUse -= capacity
            }
            return
        }
        munlock(pointer, capacity)
        munmap(pointer, capacity)
        state.withLock { state in
            state.stats.bytesMapped -= capacity
            state.stats.bytesInUse -= capacity
        }
    }

    private static func mapLocked(_ length: Int) -> (UnsafeMutableRawPointer, Bool) {
        guard let raw = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            raw != MAP_FAILED
        else {
            // Out of address space: nothing sensible can continue without leaking secrets into ordinary memory.
            fatalError("tokend: cannot map memory for secrets")
        }
        _ = madvise(raw, length, MADV_DONTDUMP)
        let locked = mlock(raw, length) == 0
        return (raw, locked)
    }
}
