import NIOCore

/// The PAT and PMT of a transport stream's first program (ISO/IEC 13818-1 §2.4.4): sections
/// gathered across packets, checked (CRC, lengths), and read into the program's elementary
/// streams. Only the first section of a packet is read, and only sections that apply now
/// (`current_next_indicator`).
struct ProgramTables {
    /// One elementary stream listed in the PMT.
    struct Entry: Equatable {
        var pid: UInt16
        var streamType: UInt8
        /// `format_identifier`s of the registration descriptors (tag 5) in its ES info.
        var registrations: [UInt32]
    }

    /// What a completed section changed.
    enum Change: Equatable {
        case none
        /// The PMT's PID changed: the streams of the old program are gone.
        case newProgram
        /// A PMT with a new version (or the first one): its streams.
        case streams([Entry])
        /// A section that was refused.
        case refused
    }

    private static let maxSectionLength = 1021
    private(set) var pmtPID: UInt16?
    private var programNumber: UInt16?
    private var pmtVersion: UInt8?
    private var sections: [UInt16: [UInt8]] = [:]

    /// Adds one packet's payload of the PAT or PMT PID.
    mutating func read(_ payload: ByteBuffer, pid: UInt16, unitStart: Bool) -> Change {
        var bytes = Array(payload.readableBytesView)
        if unitStart {
            // pointer_field: bytes that end the previous section come first (§2.4.4.2).
            guard let pointer = bytes.first, Int(pointer) + 1 <= bytes.count else {
                sections[pid] = nil
                return .refused
            }
            bytes.removeFirst(Int(pointer) + 1)
            sections[pid] = bytes
        } else {
            guard sections[pid] != nil else { return .none }
            sections[pid]?.append(contentsOf: bytes)
        }
        guard let gathered = sections[pid], gathered.count >= 3 else { return .none }
        let length = Int(gathered[1] & 0x0F) << 8 | Int(gathered[2])
        guard length <= Self.maxSectionLength else {
            sections[pid] = nil
            return .refused
        }
        guard gathered.count >= 3 + length else { return .none }
        sections[pid] = nil
        return section(Array(gathered[0..<(3 + length)]), pid: pid)
    }

    mutating func abandonSection(pid: UInt16) {
        sections[pid] = nil
    }

    /// A whole section: header, CRC, then the PAT or PMT it is.
    private mutating func section(_ section: [UInt8], pid: UInt16) -> Change {
        // table_id … last_section_number (8 bytes), then at least the CRC.
        guard section.count >= 12, CRC32MPEG2.checksum(section) == 0 else { return .refused }
        let current = section[5] & 0x01 != 0
        guard current, section[6] == 0 else { return .none }
        let body = section[8..<(section.count - 4)]
        if pid == 0, section[0] == 0x00 { return programAssociation(body) }
        // A PMT PID may carry other programs' maps too: read only the first program's.
        let number = UInt16(section[3]) << 8 | UInt16(section[4])
        guard pid == pmtPID, section[0] == 0x02 else { return .refused }
        guard number == programNumber else { return .none }
        return programMap(body, version: section[5] >> 1 & 0x1F)
    }

    /// The PAT's first program (number ≠ 0; 0 names the network PID) gives the PMT's PID.
    private mutating func programAssociation(_ body: ArraySlice<UInt8>) -> Change {
        guard body.count % 4 == 0 else { return .refused }
        for entry in stride(from: body.startIndex, to: body.endIndex, by: 4) {
            let number = UInt16(body[entry]) << 8 | UInt16(body[entry + 1])
            guard number != 0 else { continue }
            let pid = UInt16(body[entry + 2] & 0x1F) << 8 | UInt16(body[entry + 3])
            guard pid != pmtPID || number != programNumber else { return .none }
            guard pid != 0, pid != MPEGTSPacket.nullPID else { return .refused }
            pmtPID = pid
            programNumber = number
            pmtVersion = nil
            sections[pid] = nil
            return .newProgram
        }
        return .none
    }

    /// The PMT's elementary streams (§2.4.4.8), when its version is new.
    private mutating func programMap(_ body: ArraySlice<UInt8>, version: UInt8) -> Change {
        guard version != pmtVersion else { return .none }
        // PCR_PID (2 bytes), then program_info_length and the program's descriptors.
        guard body.count >= 4 else { return .refused }
        var cursor = body.startIndex + 4 + (Int(body[body.startIndex + 2] & 0x0F) << 8 | Int(body[body.startIndex + 3]))
        var entries: [Entry] = []
        while cursor < body.endIndex {
            guard cursor + 5 <= body.endIndex else { return .refused }
            let infoLength = Int(body[cursor + 3] & 0x0F) << 8 | Int(body[cursor + 4])
            guard cursor + 5 + infoLength <= body.endIndex else { return .refused }
            let pid = UInt16(body[cursor + 1] & 0x1F) << 8 | UInt16(body[cursor + 2])
            let registrations = Self.registrations(body[(cursor + 5)..<(cursor + 5 + infoLength)])
            entries.append(Entry(pid: pid, streamType: body[cursor], registrations: registrations))
            cursor += 5 + infoLength
        }
        guard cursor == body.endIndex else { return .refused }
        pmtVersion = version
        return .streams(entries)
    }

    /// The format identifiers of registration descriptors (§2.6.8) in a descriptor loop.
    private static func registrations(_ descriptors: ArraySlice<UInt8>) -> [UInt32] {
        var found: [UInt32] = []
        var cursor = descriptors.startIndex
        while cursor + 2 <= descriptors.endIndex {
            let tag = descriptors[cursor]
            let length = Int(descriptors[cursor + 1])
            guard cursor + 2 + length <= descriptors.endIndex else { break }
            if tag == 0x05, length >= 4 {
                found.append(descriptors[(cursor + 2)..<(cursor + 6)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            }
            cursor += 2 + length
        }
        return found
    }
}
