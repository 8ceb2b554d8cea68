#!/usr/bin/env python3
"""Prints, as JSON, what trick-play playlists and an MPD say, as read by parsers Sluice did not
write: PyPI's m3u8 and mpegdash.

    trick_play.py MODE [FILE]   (FILE, or standard input)

    trick_play.py master < llhls.m3u8
      {"iframes": [{"uri", "bandwidth", "codecs", "resolution"}], "images": [same]}
    trick_play.py iframes < iframes.m3u8
      {"iframes_only": true, "version": 4, "media_sequence": n,
       "segments": [{"uri", "duration", "length", "offset"}], "maps": ["uri|length@offset"]}
    trick_play.py images < thumbnails.m3u8
      {"images_only": true, "media_sequence": n, "segments": [{"uri", "duration"}],
       "tiles": [{"resolution", "layout", "duration"}]}
    trick_play.py mpd < manifest.mpd
      {"images": [{"id", "mime", "width", "height", "tiles", "media", "start_number", "timeline"}]}
"""
import json
import sys


def master(text):
    import m3u8
    parsed = m3u8.loads(text)

    def described(playlist, info):
        size = info.resolution
        return {"uri": playlist.uri, "bandwidth": info.bandwidth, "codecs": info.codecs,
                "resolution": "%dx%d" % size if size else None}

    return {"iframes": [described(p, p.iframe_stream_info) for p in parsed.iframe_playlists],
            "images": [described(p, p.image_stream_info) for p in parsed.image_playlists]}


def iframes(text):
    import m3u8
    parsed = m3u8.loads(text)
    segments = []
    for segment in parsed.segments:
        length, _, offset = (segment.byterange or "").partition("@")
        segments.append({"uri": segment.uri, "duration": segment.duration,
                         "length": int(length) if length else None, "offset": int(offset) if offset else None})
    maps = ["%s|%s" % (s.init_section.uri, s.init_section.byterange) for s in parsed.segments if s.init_section]
    return {"iframes_only": bool(parsed.is_i_frames_only), "version": int(parsed.version or 0),
            "media_sequence": parsed.media_sequence, "segments": segments, "maps": maps}


def images(text):
    import m3u8
    parsed = m3u8.loads(text)
    tiles = m3u8.parse(text).get("tiles", [])
    return {"images_only": bool(parsed.is_images_only), "media_sequence": parsed.media_sequence,
            "segments": [{"uri": s.uri, "duration": s.duration} for s in parsed.segments],
            "tiles": [{"resolution": t.get("resolution"), "layout": t.get("layout"), "duration": t.get("duration")}
                      for t in tiles]}


def mpd(text):
    from mpegdash.parser import MPEGDASHParser
    parsed = MPEGDASHParser.parse(text)
    found = []
    for period in parsed.periods or []:
        for adaptation in period.adaptation_sets or []:
            if adaptation.content_type != "image":
                continue
            for representation in adaptation.representations or []:
                template = representation.segment_templates[0] if representation.segment_templates else None
                timeline = []
                if template and template.segment_timelines:
                    timeline = [[s.t, s.d, s.r or 0] for s in template.segment_timelines[0].Ss]
                tiles = [p.value for p in representation.essential_properties or []
                         if p.scheme_id_uri == "http://dashif.org/thumbnail_tile"]
                found.append({"id": representation.id, "mime": adaptation.mime_type, "width": representation.width,
                              "height": representation.height, "tiles": tiles,
                              "media": template.media if template else None,
                              "start_number": template.start_number if template else None, "timeline": timeline})
    return {"images": found}


if __name__ == "__main__":
    modes = {"master": master, "iframes": iframes, "images": images, "mpd": mpd}
    text = open(sys.argv[2]).read() if len(sys.argv) > 2 else sys.stdin.read()
    print(json.dumps(modes[sys.argv[1]](text)))
