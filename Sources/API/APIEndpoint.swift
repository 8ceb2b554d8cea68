/// What an API route does, named once in `APIRoutes.all`: the router authenticates, checks the
/// route's scope and hands the endpoint to the API type that serves it, which has one method per
/// endpoint. Endpoints of one resource (`channel`, `stream`, …) get its `{id}` parsed.
enum APIEndpoint: Hashable, Sendable {
    case openAPI
    case channels(Channels)
    case channel(Channel)
    case seeds(Seeds)
    case seed(Seed)
    case assets
    case asset(Asset)
    case streams
    case stream(Stream)
    case streamEvents
    case settings(Settings)
    case keys(Keys)
    case revokeKey
    case webhooks(Webhooks)
    case console(Console)
    case qrCode

    /// `/api/v1/channels`.
    enum Channels: Hashable, Sendable {
        case list, create
    }

    /// `/api/v1/channels/{id}…`.
    enum Channel: Hashable, Sendable {
        case show, change, replace, delete
        case pushURL, playURLs, signPlayURLs, rotateSecret, events
        case setWatermarkImage, watermarkImage, removeWatermarkImage
    }

    /// `/videostream`: the seed system's API over the same channels.
    enum Seeds: Hashable, Sendable {
        case list, create
    }

    /// `/videostream/{id}`.
    enum Seed: Hashable, Sendable {
        case show, change, delete
    }

    /// `/api/v1/assets/{id}…`.
    enum Asset: Hashable, Sendable {
        case show, content, delete
    }

    /// `/api/v1/streams/{id}…`.
    enum Stream: Hashable, Sendable {
        case show, relays, stop, history
    }

    /// `/api/v1/settings`.
    enum Settings: Hashable, Sendable {
        case show, replace
    }

    /// `/api/v1/keys`.
    enum Keys: Hashable, Sendable {
        case list, create
    }

    /// `/api/v1/webhooks…`.
    enum Webhooks: Hashable, Sendable {
        case show, replace, deliveries
    }

    /// `/api/v1/console/session`.
    enum Console: Hashable, Sendable {
        case signIn, session, signOut
    }
}

/// An API request matched against `APIRoutes.all`: its route and the `{id}` its path named
/// (`""` for routes without one), percent-decoded as sent.
struct APICall: Equatable, Sendable {
    var route: APIRoute
    var id: String
}
