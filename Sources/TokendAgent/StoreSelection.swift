import TokendCore
import TokendStores

/// Picks the store once per agent start: the one asked for, or in `auto` mode the Secret Service when a
/// session bus and an unlocked default collection answer, else the encrypted file store.
enum StoreSelection {
    static func choose(_ configuration: AgentConfiguration) -> (store: SecretStore, reason: String) {
        let secretService = SecretServiceStore(timeout: configuration.storeTimeout)
        switch configuration.store {
        case .secretService:
            return (secretService, "forced by configuration")
        case .file:
            return (fileStore(configuration), "forced by configuration")
        case nil:
            let probe = SecretServiceStore(timeout: 1)
            switch probe.state() {
            case .ready:
                return (secretService, "auto: the Secret Service answered with an unlocked default collection")
            case .locked:
                return (fileStore(configuration), "auto: the Secret Service default collection is locked")
            case .notInitialized:
                return (fileStore(configuration), "auto: the Secret Service has no default collection")
            case .unavailable(let why):
                return (fileStore(configuration), "auto: \(why)")
            }
        }
    }
}

// TEMPORARY until the age file store lands in this session.
func fileStore(_ configuration: AgentConfiguration) -> SecretStore { SecretServiceStore(timeout: configuration.storeTimeout) }
