import Fanout

extension Serve {
    /// Every window is written as soon as it is delivered: the bench makes the windows itself.
    static let immediate = FlushPolicy.immediate
}
