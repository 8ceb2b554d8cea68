import Foundation
import Testing
@testable import Access

@Suite struct AdmissionTicketTests {
    let tickets = AdmissionTicket(secret: "channel-secret")
    let stream = "2b0c6f3e-0000-4000-8000-000000000001"
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aTicketAdmitsItsStreamAndClientForItsLifetime() {
        let ticket = tickets.issue(stream: stream, clientIP: "198.51.100.7", now: now)
        #expect(tickets.remaining(ticket, stream: stream, clientIP: "198.51.100.7", now: now) == AdmissionTicket.lifetime)
        #expect(tickets.remaining(ticket, stream: stream, clientIP: "198.51.100.7", now: now + 599) == 1)
        #expect(tickets.remaining(ticket, stream: stream, clientIP: "198.51.100.7", now: now + 600) == nil)
    }

    @Test func aTicketAdmitsNothingElse() {
        let ticket = tickets.issue(stream: stream, clientIP: "198.51.100.7", now: now)
        #expect(tickets.remaining(ticket, stream: stream + "x", clientIP: "198.51.100.7", now: now) == nil)
        #expect(tickets.remaining(ticket, stream: stream, clientIP: "198.51.100.8", now: now) == nil)
        #expect(tickets.remaining(ticket, stream: stream, clientIP: nil, now: now) == nil)
        #expect(AdmissionTicket(secret: "rotated").remaining(ticket, stream: stream, clientIP: "198.51.100.7", now: now) == nil)
    }

    @Test func forgedAndHostileTicketsAreRefused() {
        let ticket = tickets.issue(stream: stream, clientIP: nil, now: now)
        let (expiry, mac) = (ticket.prefix { $0 != "." }, ticket.drop { $0 != "." }.dropFirst())
        let hostile = [
            "", ".", "\(expiry).", ".\(mac)", "\(Int64(expiry)! + 1).\(mac)",            // moved expiry
            "9223372036854775807.\(mac)", "-9223372036854775808.\(mac)", "99999999999999999999.\(mac)",
            "\(Int64(expiry)! + 100_000).\(mac)",                                        // beyond a lifetime
            "\(expiry).\(mac.uppercased())", "\(expiry).\(mac.dropLast())", "\(expiry).\(mac)0",
            String(repeating: "1", count: 100_000), "\(expiry).\(mac)\n#EXT-X-ENDLIST",
        ]
        for value in hostile {
            #expect(tickets.remaining(value, stream: stream, clientIP: nil, now: now) == nil, "\(value.prefix(40))")
        }
        #expect(tickets.remaining(ticket, stream: stream, clientIP: nil, now: now) != nil)
    }
}
