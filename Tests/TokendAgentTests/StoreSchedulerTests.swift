import Dispatch
import Synchronization
import Testing

import TokendProtocol

@testable import TokendAgent

/// The order in which the store thread takes requests: reads ahead of queued writes, writes never starved.
@Suite struct StoreSchedulerTests {
    final class Recorder: Sendable {
        let order = Mutex<[String]>([])
        func note(_ label: String) { order.withLock { $0.append(label) } }
    }

    @Test func readsOvertakeQueuedWritesButAWriteGoesAfterEightReadsInARow() {
        let scheduler = StoreScheduler()
        let recorder = Recorder()
        let started = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        func submit(_ label: String, read: Bool, holding: Bool = false) {
            done.enter()
            scheduler.submit(read: read) {
                if holding {
                    started.signal()
                    gate.wait()
                }
                recorder.note(label)
                done.leave()
            }
        }
        // The first write holds the store thread until everything else is queued behind it.
        submit("w0", read: false, holding: true)
        started.wait()
        submit("w1", read: false)
        submit("w2", read: false)
        for i in 1...10 { submit("r\(i)", read: true) }
        gate.signal()
        done.wait()
        #expect(recorder.order.withLock { $0 } == ["w0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "w1", "r9", "r10", "w2"])
    }

    @Test func onlyOpsThatReadGoInTheReadLane() {
        #expect(Op.allCases.filter(\.onlyReads) == [.hello, .get, .list, .info, .status])
    }
}
