#!/usr/bin/env python3
"""Keeps the code's shape honest (issue 18): no Swift function over 60 lines, no source file
over 400 lines, and every `@unchecked Sendable` and every lock with its one-line reason.

A reason is a `//` comment on the declaring line or on the line just above it. Run from the
repository root; exits 1 and lists what is out of shape."""
import pathlib
import re
import sys

MAX_FUNCTION_LINES = 60
MAX_FILE_LINES = 400
ROOTS = ["Sources", "Tests", "Benchmarks", "Fuzz"]
DECLARATION = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|package|static|class|final|override|mutating|nonisolated|convenience|required|@inlinable|@discardableResult)\s+)*(func\s+[^\s(<]+|init[?!]?|deinit)\b")
LOCK = re.compile(r"\b(?:let|var)\s+\w+\s*(?::\s*[\w<>.,\s]*)?=\s*(?:NIOLock|NIOLockedValueBox|Mutex|NSLock|ConditionLock|NIOConditionLock|NSCondition|DispatchSemaphore|os_unfair_lock)\b[(<]|\b(?:let|var)\s+\w+\s*:\s*(?:NIOLock|NIOLockedValueBox|Mutex|NSLock|NIOConditionLock|ConditionLock)\b")
UNCHECKED = re.compile(r"@unchecked\s+Sendable")


def strip(line: str) -> str:
    """The line without string literals and `//` comments, so braces inside them do not count."""
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    index = line.find("//")
    return line if index < 0 else line[:index]


def has_reason(lines: list[str], index: int) -> bool:
    if "//" in lines[index]:
        return True
    above = index - 1
    while above >= 0 and lines[above].strip().startswith("@"):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("//")


def check(path: pathlib.Path) -> list[str]:
    problems = []
    lines = path.read_text().splitlines()
    if len(lines) > MAX_FILE_LINES and path.parts[0] == "Sources":
        problems.append(f"{path}: {len(lines)} lines (at most {MAX_FILE_LINES})")
    in_multiline_string = False
    for index, raw in enumerate(lines):
        if raw.count('"""') % 2 == 1:
            in_multiline_string = not in_multiline_string
        if in_multiline_string:
            continue
        if path.parts[0] == "Sources" and (UNCHECKED.search(raw) or LOCK.search(strip(raw))):
            if not has_reason(lines, index):
                problems.append(f"{path}:{index + 1}: no reason given: {raw.strip()}")
        match = DECLARATION.match(raw)
        if not match:
            continue
        depth, opened = 0, False
        for end in range(index, len(lines)):
            code = strip(lines[end])
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth <= 0:
                break
            if not opened and end > index + 8:
                break  # a protocol requirement: no body
        if opened and end - index + 1 > MAX_FUNCTION_LINES:
            problems.append(f"{path}:{index + 1}: {match.group(1)} is {end - index + 1} lines (at most {MAX_FUNCTION_LINES})")
    return problems


def main() -> int:
    problems = []
    for root in ROOTS:
        for path in sorted(pathlib.Path(root).rglob("*.swift")):
            problems += check(path)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} out of shape", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
