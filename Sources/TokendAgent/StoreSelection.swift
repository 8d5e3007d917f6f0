import TokendCore
import TokendPosix
import TokendStores

/// Picks the store once per agent start: the one asked for; else the one `tokend migrate` last moved the
/// secrets to; else (`auto`) the Secret Service when a session bus and an unlocked default collection answer
/// within a second, and the encrypted file store otherwise.
enum StoreSelection {
    static func choose(_ configuration: AgentConfiguration) -> (store: SecretStore, reason: String) {
        if let kind = configuration.store { return (make(kind, configuration), "forced by --store or TOKEND_STORE") }
        if let remembered = rememberedChoice(configuration) {
            return (make(remembered, configuration), "chosen by tokend migrate (\(choicePath(configuration)))")
        }
        switch SecretServiceStore(timeout: 1).state() {
        case .ready:
            return (make(.secretService, configuration), "auto: the Secret Service answered with an unlocked default collection")
        case .locked:
            return (make(.file, configuration), "auto: the Secret Service default collection is locked")
        case .notInitialized:
            return (make(.file, configuration), "auto: the Secret Service has no default collection")
        case .unavailable(let why):
            return (make(.file, configuration), "auto: \(why)")
        }
    }

    static func make(_ kind: StoreKind, _ configuration: AgentConfiguration) -> SecretStore {
        switch kind {
        case .secretService: SecretServiceStore(timeout: configuration.storeTimeout)
        case .file: AgeFileStore(directory: configuration.dataDirectory, kdfLogN: configuration.kdfLogN)
        }
    }

    static func choicePath(_ configuration: AgentConfiguration) -> String { configuration.configDirectory + "/store" }

    static func rememberedChoice(_ configuration: AgentConfiguration) -> StoreKind? {
        guard let bytes = try? AtomicFile.read(choicePath(configuration), limit: 64) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        return StoreKind(rawValue: text)
    }

    static func remember(_ kind: StoreKind, _ configuration: AgentConfiguration) throws(TokendError) {
        try AtomicFile.makePrivateDirectory(configuration.configDirectory)
        do { try AtomicFile.replace(choicePath(configuration), with: Array((kind.rawValue + "\n").utf8)) } catch {
            throw TokendError(.storeUnavailable, "cannot record the store choice in \(choicePath(configuration)): \(error)")
        }
    }
}
