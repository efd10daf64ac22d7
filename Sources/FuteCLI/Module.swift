import FuteDB
import Ingest

/// Entry point of the `fute-db` command (placeholder until the CLI lands).
public enum FuteCommandLine {
    public static func main() {
        print("fute-db 0.1.0")
    }
}
