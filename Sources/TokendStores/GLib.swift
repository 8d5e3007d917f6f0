import CLibsecret
import Dispatch
import TokendCore

/// Small typed helpers over the GLib types that libsecret speaks, so that SecretServiceStore reads as
/// Swift. Nothing outside this module sees a GLib type.
enum GLib {
    /// A string-to-string GHashTable that owns copies of its keys and values.
    static func attributes(_ pairs: [(String, String)]) -> OpaquePointer {
        let table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free)!
        for (key, value) in pairs { g_hash_table_insert(table, g_strdup(key), g_strdup(value)) }
        return table
    }

    /// Reads a string-to-string GHashTable (does not consume it).
    static func dictionary(_ table: OpaquePointer) -> [String: String] {
        var result: [String: String] = [:]
        var iter = GHashTableIter()
        g_hash_table_iter_init(&iter, table)
        var key: gpointer?
        var value: gpointer?
        while g_hash_table_iter_next(&iter, &key, &value) != 0 {
            if let key, let value {
                result[String(cString: key.assumingMemoryBound(to: CChar.self))] =
                    String(cString: value.assumingMemoryBound(to: CChar.self))
            }
        }
        return result
    }

    /// The message of a GError, with its domain and code, then frees it.
    static func consume(_ error: UnsafeMutablePointer<GError>?) -> (domain: GQuark, code: Int32, message: String)? {
        guard let error else { return nil }
        defer { g_error_free(error) }
        let message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        return (error.pointee.domain, error.pointee.code, message)
    }
}

/// A GCancellable that fires after a deadline, so that no store call (a provider waiting on a prompt that
/// never comes) holds the agent's store thread for long. The timer keeps its own reference, so cancelling
/// after the call has finished is harmless.
final class Deadline: @unchecked Sendable {
    let cancellable: UnsafeMutablePointer<GCancellable>

    init(seconds: Double) {
        cancellable = g_cancellable_new()
        let timerRef = UnsafeSendablePointer(g_object_ref(cancellable))
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
            g_cancellable_cancel(timerRef.pointer.assumingMemoryBound(to: GCancellable.self))
            g_object_unref(timerRef.pointer)
        }
    }

    deinit { g_object_unref(cancellable) }

    var fired: Bool { g_cancellable_is_cancelled(cancellable) != 0 }
}

struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: gpointer) { self.pointer = pointer }
}
