import Foundation

/// A JSON document as a tree, for what typed decoding cannot do on its own: refusing unknown
/// fields and applying merge patches (RFC 7386).
enum JSONValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
    func merging(_ patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var result: [String: JSONValue] = [:]
        if case .object(let current) = self { result = current }
        for (key, change) in changes {
            if change == .null {
                result[key] = nil
            } else {
                result[key] = (result[key] ?? .null).merging(change)
            }
        }
        return .object(result)
    }

    /// Paths of fields in `self` that `template` does not have. Arrays are checked element by
    /// element against the template's first element.
    func unknownFields(comparedTo template: JSONValue, path: String = "") -> [String] {
        switch (self, template) {
        case (.object(let fields), .object(let known)):
            return fields.keys.sorted().flatMap { key -> [String] in
                let child = path.isEmpty ? key : "\(path).\(key)"
                guard let expected = known[key] else { return [child] }
                return fields[key]!.unknownFields(comparedTo: expected, path: child)
            }
        case (.array(let elements), .array(let examples)):
            guard let example = examples.first else { return [] }
            return elements.enumerated().flatMap { $1.unknownFields(comparedTo: example, path: "\(path)[\($0)]") }
        default:
            return []
        }
    }
}
