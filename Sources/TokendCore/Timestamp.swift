import Glibc

/// Seconds since the Unix epoch (UTC), with RFC 3339 formatting and parsing, so that the client does not
/// need Foundation's Date.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec))
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.seconds < b.seconds }

    /// `2027-01-31T00:00:00Z`
    public var description: String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` or with a `±HH:MM` offset, and `YYYY-MM-DD` (midnight UTC).
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= b.count else { return nil }
            var v = 0
            for c in b[from..<from + len] {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard b.count >= 10, let year = num(0, 4), b[4] == UInt8(ascii: "-"), let month = num(5, 2),
            b[7] == UInt8(ascii: "-"), let day = num(8, 2), (1...12).contains(month),
            (1...Timestamp.days(inMonth: month, of: year)).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0, offset = 0
        if b.count > 10 {
            guard b.count >= 20, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
                let h = num(11, 2), b[13] == UInt8(ascii: ":"), let m = num(14, 2), b[16] == UInt8(ascii: ":"),
                let s = num(17, 2), h < 24, m < 60, s < 61
            else { return nil }
            hour = h; minute = m; second = s
            var i = 19
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
            }
            guard i < b.count else { return nil }
            if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                guard i + 1 == b.count else { return nil }
            } else {
                guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count,
                    let oh = num(i + 1, 2), b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2), oh < 24, om < 60
                else { return nil }
                offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            }
        }
        // Days from civil (Howard Hinnant's algorithm): exact for the proleptic Gregorian calendar.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        seconds = Int64(days * 86400 + hour * 3600 + minute * 60 + second - offset)
        // Only what `description` can write back (four-digit years, in UTC) is a time tokend keeps.
        guard (0...Timestamp.latest.seconds).contains(seconds) else { return nil }
    }

    /// 9999-12-31T23:59:59Z, the last time with a four-digit year.
    public static let latest = Timestamp(seconds: 253_402_300_799)

    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// Durations such as `90s`, `15m`, `2h`, `30d`, `1w` (a bare number is seconds).
public enum DurationParser {
    public static func seconds(_ text: String) -> Int64? {
        guard let last = text.utf8.last else { return nil }
        let units: [UInt8: Int64] = [
            UInt8(ascii: "s"): 1, UInt8(ascii: "m"): 60, UInt8(ascii: "h"): 3600, UInt8(ascii: "d"): 86400,
            UInt8(ascii: "w"): 604800,
        ]
        let unit = units[last]
        let digits = unit == nil ? Substring(text) : text.dropLast()
        guard !digits.isEmpty, digits.count <= 9, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let n = Int64(digits)
        else { return nil }
        return n * (unit ?? 1)
    }
}
