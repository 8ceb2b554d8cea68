#!/usr/bin/env python3
"""Prints, as JSON, the closed captions a multivariant playlist or an MPD describes, as read by
parsers Sluice did not write: PyPI's m3u8 and mpegdash.

    caption_descriptions.py m3u8 < master.m3u8
      {"media": [{"group": "cc", "name": "CC1", "instream": "CC1", "language": null}],
       "variants": ["cc", ...]}                # each variant's CLOSED-CAPTIONS (null if absent)
    caption_descriptions.py mpd < manifest.mpd
      {"video": [["urn:scte:dash:cc:cea-608:2015", "CC1=und"]], "other": [...]}
"""
import json
import sys


def playlist(text):
    import m3u8
    parsed = m3u8.loads(text)
    media = [{"group": m.group_id, "name": m.name, "instream": m.instream_id, "language": m.language}
             for m in parsed.media if m.type == "CLOSED-CAPTIONS"]
    variants = [(v.stream_info.closed_captions or "").strip('"') or None for v in parsed.playlists]
    return {"media": media, "variants": variants}


def manifest(text):
    from mpegdash.parser import MPEGDASHParser
    parsed = MPEGDASHParser.parse(text)
    found = {"video": [], "other": []}
    for period in parsed.periods or []:
        for adaptation in period.adaptation_sets or []:
            key = "video" if adaptation.content_type == "video" else "other"
            found[key] += [[a.scheme_id_uri, a.value] for a in adaptation.accessibilities or []]
    return found


if __name__ == "__main__":
    body = sys.stdin.read()
    print(json.dumps(playlist(body) if sys.argv[1] == "m3u8" else manifest(body)))
