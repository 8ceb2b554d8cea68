/// Following `sluice.channels`, as the workers and hubs that apply settings live do.
extension BusSubscription {
    /// Calls `changed` with the stream of every channel change read, in order, until the
    /// subscription ends or fails (the error is thrown); the subscription is closed either way.
    public func forEachChangedChannel(_ changed: (StreamID) async -> Void) async throws {
        do {
            for try await delivery in self {
                guard case .channel(let change) = delivery.record.value, let id = StreamID(change.key) else { continue }
                await changed(id)
            }
        } catch {
            await close()
            throw error
        }
        await close()
    }
}
