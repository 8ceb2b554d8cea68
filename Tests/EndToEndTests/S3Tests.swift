import Foundation
import State
import Testing

extension EndToEnd {
    /// Recordings and snapshots into S3: moto's S3 server (PyPI) on a loopback port, Sluice
    /// signing with SigV4; keys, content types and pre-signed downloads checked with boto3 and curl.
    @Suite(.timeLimit(.minutes(3)))
    struct S3Tests {
        typealias API = ChannelsTests

        /// boto3 against the moto server: runs `script` with `s3` (a client) and `bucket` defined.
        private func boto(_ port: Int, _ script: String) throws -> String {
            let program = """
                import boto3, json, sys
                s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:\(port)", region_name="us-east-1",
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
                bucket = "recordings"
                \(script)
                """
            let result = try Tools.run("python3", ["-c", program], timeout: 30)
            guard result.status == 0 else { throw E2EError("boto3: \(result.errors)") }
            return result.output
        }

        /// moto's S3 on a free loopback port with the bucket made; stop it when done.
        private func startMoto() throws -> (port: Int, server: RunningTool) {
            let port = try Tools.freePort()
            let moto = try RunningTool("moto_server", ["-H", "127.0.0.1", "-p", "\(port)"])
            let deadline = Date().addingTimeInterval(15)
            while try Tools.httpStatus("http://127.0.0.1:\(port)/") == 0, Date() < deadline { usleep(200_000) }
            _ = try boto(port, "s3.create_bucket(Bucket=bucket)")
            return (port, moto)
        }

        @Test func largeFilesGoUpInPartsAndComeBackWhole() async throws {
            let (port, moto) = try startMoto()
            defer {
                moto.process.terminate()
                _ = moto.wait(timeout: 5)
            }
            let store = S3AssetStore(configuration: .init(endpoint: URL(string: "http://127.0.0.1:\(port)")!, bucket: "recordings",
                                                          accessKey: "testing", secretKey: "testing"), partSize: 5 << 20)
            let bytes = Data((0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 * 7) })
            let file = URL(fileURLWithPath: NSTemporaryDirectory() + "sluice-part-\(UUID().uuidString).mp4")
            try bytes.write(to: file)
            try await store.put(file: file, at: "ch/mp4/2026/11/30/big.mp4", contentType: "video/mp4")
            #expect(!FileManager.default.fileExists(atPath: file.path), "the local file is handed over")
            let head = try boto(port, "h = s3.head_object(Bucket=bucket, Key=\"ch/mp4/2026/11/30/big.mp4\"); print(h[\"ContentLength\"], h[\"ContentType\"])")
            #expect(head.trimmingCharacters(in: .whitespacesAndNewlines) == "\(12 << 20) video/mp4")
            #expect(try await store.get("ch/mp4/2026/11/30/big.mp4") == bytes, "three parts, back whole")
            #expect(try await store.get("ch/mp4/2026/11/30/missing.mp4") == nil)
            try await store.delete("ch/mp4/2026/11/30/big.mp4")
            #expect(try await store.get("ch/mp4/2026/11/30/big.mp4") == nil)
        }

        @Test func recordingsAndSnapshotsLandUnderTheirKeysWithTheirTypes() throws {
            let (port, moto) = try startMoto()
            defer {
                moto.process.terminate()
                _ = moto.wait(timeout: 5)
            }

            let server = try SluiceProcess(extraArguments: ["--s3-endpoint", "http://127.0.0.1:\(port)", "--s3-bucket", "recordings",
                                                            "--s3-prefix", "sluice/"],
                                           environment: ["SLUICE_ADMIN_KEY": API.adminKey, "AWS_ACCESS_KEY_ID": "testing",
                                                         "AWS_SECRET_ACCESS_KEY": "testing"])
            defer { server.stop() }
            let body = #"{"name":"s3","record":{"mp4":{"enabled":true,"segmentSeconds":10},"snapshots":{"enabled":true,"intervalSeconds":5}}}"#
            let id = try #require(try API().api(server, "POST", "/api/v1/channels", body).body["id"] as? String)
            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 12)
            _ = publisher.wait()
            Thread.sleep(forTimeInterval: 2)

            let listing = try boto(port, """
                keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
                print(json.dumps({k: s3.head_object(Bucket=bucket, Key=k)["ContentType"] for k in keys}))
                """)
            let objects = try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [String: String] ?? [:]
            let mp4s = objects.filter { $0.key.hasPrefix("sluice/\(id)/mp4/") && $0.key.hasSuffix(".mp4") }
            let jpegs = objects.filter { $0.key.hasPrefix("sluice/\(id)/snapshot/") && $0.key.hasSuffix(".jpg") }
            #expect(mp4s.count == 2, "10 s + 2 s of MP4: \(objects.keys.sorted())")
            #expect(jpegs.count >= 2, "snapshots at 0, 5 and 10 s: \(objects.keys.sorted())")
            #expect(mp4s.values.allSatisfy { $0 == "video/mp4" } && jpegs.values.allSatisfy { $0 == "image/jpeg" }, "\(objects)")
            let dated = try #require(mp4s.keys.first?.split(separator: "/"))
            #expect(dated.count == 7 && dated[3].count == 4 && dated[4].count == 2 && dated[5].count == 2, "{channel}/{kind}/{YYYY}/{MM}/{DD}/{file}")

            // The API lists them with pre-signed download URLs that curl fetches without a key.
            let output = try Tools.run("curl", ["-s", "--max-time", "10", "-H", "Authorization: Bearer \(API.adminKey)",
                                                "http://127.0.0.1:\(server.httpPort)/api/v1/assets?channel=\(id)&kind=mp4"]).output
            let assets = ((try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any])?["items"] as? [[String: Any]] ?? []
            #expect(assets.count == 2)
            let url = try #require(assets.first?["downloadUrl"] as? String)
            #expect(url.hasPrefix("http://127.0.0.1:\(port)/recordings/sluice/") && url.contains("X-Amz-Signature="), "\(url)")
            let path = NSTemporaryDirectory() + "sluice-s3-\(UUID().uuidString).mp4"
            defer { try? FileManager.default.removeItem(atPath: path) }
            let fetched = try Tools.run("curl", ["-s", "-o", path, "-w", "%{http_code}", "--max-time", "10", url]).output
            #expect(fetched == "200")
            let probe = try Tools.run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", path])
            #expect(Set(probe.output.split(separator: "\n").map(String.init)) == ["h264", "aac"], "\(probe.output)")
            // (moto does not check signatures; SigV4Tests pins them to AWS's published examples.)
            #expect(try Tools.httpStatus("http://127.0.0.1:\(server.httpPort)/\(id)/snapshot.jpg") == 200, "served from S3")

            // Deleting an asset deletes its object.
            let assetID = try #require(assets.first?["id"] as? String)
            let key = "sluice/" + (assets.first?["location"] as? String ?? "")
            #expect(try API().api(server, "DELETE", "/api/v1/assets/\(assetID)").status == 204)
            let gone = try boto(port, "print(len(s3.list_objects_v2(Bucket=bucket, Prefix=\"\(key)\").get(\"Contents\", [])))")
            #expect(gone.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        }
    }
}
