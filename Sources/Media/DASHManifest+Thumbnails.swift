extension DASHManifest {
    /// A thumbnail track as the DASH-IF guidelines (IOP 4.3 §6.2.6) describe it: an adaptation
    /// set of `contentType="image"`, each representation a sprite of `thumbnailTiles` tiles
    /// (`EssentialProperty` `http://dashif.org/thumbnail_tile`), as wide and high as the whole
    /// sprite, each segment one sprite.
    static func renderThumbnails(_ set: [Representation]) -> [String] {
        var lines = [#"    <AdaptationSet contentType="image" mimeType="image/jpeg">"#]
        for representation in set {
            var attributes = "id=\"\(representation.id)\" bandwidth=\"\(representation.bandwidth)\""
            if let size = representation.size { attributes += " width=\"\(size.width)\" height=\"\(size.height)\"" }
            lines += [
                "      <Representation \(attributes)>",
                #"        <EssentialProperty schemeIdUri="http://dashif.org/thumbnail_tile" value="\#(representation.thumbnailTiles ?? "1x1")"/>"#,
                "        <SegmentTemplate timescale=\"\(representation.timescale)\""
                    + " presentationTimeOffset=\"\(representation.presentationTimeOffset)\" media=\"\(representation.media)\""
                    + " startNumber=\"\(representation.startNumber)\">",
            ]
            lines += segmentTimeline(of: representation) + ["        </SegmentTemplate>", "      </Representation>"]
        }
        lines.append("    </AdaptationSet>")
        return lines
    }
}
