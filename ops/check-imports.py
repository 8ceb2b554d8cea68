#!/usr/bin/env python3
"""Every module a target imports is declared in Package.swift, and every declared one is imported.

SwiftPM builds a target that imports a module it does not declare whenever the module comes in
through another dependency, so the map in Package.swift drifts without anyone noticing (and
`--explicit-target-dependency-import-check` does not catch products). `make test` runs this.
"""
import glob
import re
import sys

# Modules of the toolchain and the platform: never declared.
PLATFORM = {"Foundation", "FoundationNetworking", "Dispatch", "Glibc", "Musl", "Darwin", "Testing",
            "XCTest", "_Concurrency", "Synchronization"}


def targets(manifest):
    """Each target's source folder and declared dependencies (targets and products by name)."""
    found = {}
    for match in re.finditer(r'\.(target|executableTarget|testTarget)\(name: "(\w+)"', manifest):
        kind, name = match.groups()
        end, depth = match.end(), 1
        while depth:
            depth += (manifest[end] == "(") - (manifest[end] == ")")
            end += 1
        body = manifest[match.end():end]
        listed = re.search(r"dependencies: \[(.*?)\]\s*[,)]", body, re.S)
        names = re.sub(r'package: "[^"]+"', "", listed.group(1)) if listed else ""
        path = re.search(r'path: "([^"]+)"', body)
        folder = path.group(1) if path else ("Tests/" if kind == "testTarget" else "Sources/") + name
        found[name] = (folder, set(re.findall(r'"(\w+)"', names)))
    return found


def imports(folder):
    modules = set()
    for path in glob.glob(folder + "/**/*.swift", recursive=True):
        with open(path) as source:
            for line in source:
                match = re.match(r"(?:@testable |@_exported |@preconcurrency )*import (?:struct |class |enum |func )?(\w+)", line)
                if match:
                    modules.add(match.group(1))
    return modules


def main():
    with open("Package.swift") as manifest:
        declared = targets(manifest.read())
    problems = []
    for name, (folder, dependencies) in sorted(declared.items()):
        used = imports(folder)
        for module in sorted(used - dependencies - PLATFORM - {name}):
            problems.append(f"{name} imports {module} without declaring it")
        for module in sorted(dependencies - used):
            problems.append(f"{name} declares {module} and imports it nowhere")
    for problem in problems:
        print(f"ops/check-imports.py: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
