// swift-tools-version:6.0
import PackageDescription

// The client is one static position-independent executable so that `tokend get` starts in a few milliseconds:
// no dynamic loader resolving libstdc++ symbols, relative relocations packed (RELR), and still ASLR. A static
// PIE must not carry a RUNPATH (glibc's start-up asserts on it), so build with `--disable-local-rpath`, as
// dev.sh and scripts/bench do; the agent needs no $ORIGIN either.
let staticStdlib: [SwiftSetting] = [.unsafeFlags(["-static-executable"])]
let staticStdlibLink: [LinkerSetting] = [.unsafeFlags([
    "-static-executable", "-Xclang-linker", "-static-pie", "-Xclang-linker", "-fuse-ld=lld",
    "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
])]

let package = Package(
    name: "tokend",
    products: [
        .executable(name: "tokend", targets: ["tokend"]),
        .executable(name: "tokend-agent", targets: ["tokend-agent"]),
    ],
    targets: [
        .systemLibrary(name: "CLibsecret", pkgConfig: "libsecret-1", providers: [.apt(["libsecret-1-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "CLinux"),
        .target(name: "TokendCore"),
        .target(name: "TokendPosix", dependencies: ["TokendCore", "CLinux"]),
        .target(name: "TokendProtocol", dependencies: ["TokendCore"]),
        .target(name: "Age", dependencies: ["TokendCore", "COpenSSL"]),
        .target(name: "TokendStores", dependencies: ["TokendCore", "TokendProtocol", "TokendPosix", "Age", "CLibsecret"]),
        .target(name: "TokendAgent", dependencies: ["TokendCore", "TokendProtocol", "TokendStores", "TokendPosix"]),
        .target(name: "TokendClient", dependencies: ["TokendCore", "TokendProtocol", "TokendPosix"]),
        .executableTarget(
            name: "tokend", dependencies: ["TokendClient", "TokendProtocol", "TokendCore"],
            swiftSettings: staticStdlib, linkerSettings: staticStdlibLink),
        // The Swift runtime linked in (C libraries stay shared): the installed agent needs no toolchain at
        // run time, and only the parts it uses are resident (about 2 MiB less RSS).
        .executableTarget(
            name: "tokend-agent", dependencies: ["TokendAgent"],
            swiftSettings: [.unsafeFlags(["-static-stdlib"])], linkerSettings: [.unsafeFlags(["-static-stdlib"])]),
        .executableTarget(name: "tokend-bench", dependencies: ["TokendPosix"]),
        .testTarget(name: "TokendCoreTests", dependencies: ["TokendCore"]),
        .testTarget(name: "TokendProtocolTests", dependencies: ["TokendProtocol", "TokendCore"]),
        .testTarget(name: "AgeTests", dependencies: ["Age", "TokendCore"]),
        .testTarget(name: "TokendAgentTests", dependencies: ["TokendAgent", "TokendProtocol"]),
        // Drives the built binaries as a user would; `swift build` (see dev.sh) builds them first.
        .testTarget(name: "EndToEndTests"),
    ],
    swiftLanguageModes: [.v6]
)
