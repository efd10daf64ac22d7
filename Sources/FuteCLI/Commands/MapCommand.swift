import Foundation
import FuteDB

/// `fute-db map`: a 2-D picture (SVG) of a space's tasks and models.
struct MapCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "map",
            abstract: "Draw a space's tasks and models in 2-D (classical MDS) as an SVG file.",
            discussion: """
                Places every subject of the space so that distances on the picture approximate the distances \
                the space compares by: cosine (centered cosine in FUTE spaces, as query does) or L2. Datasets \
                are circles, models squares; colours follow the metadata key --color-by (subjects without it \
                are grey, "(none)" in the legend). Each mark shows its name on hover; with at most 40 marks \
                each is also labelled. Subjects of kind example are left out of a task space; map NAME#examples \
                to see them. Spaces with more than \(TaskMap.maximumSubjects) subjects are refused.
                """,
            options: [
                CommonOptions.db, CommonOptions.space,
                OptionSpec("color-by", valueName: "KEY", help: "Metadata key that colours the marks (default: family)."),
                OptionSpec("out", valueName: "FILE", help: "SVG file to write (default: map.svg; replaced if it exists)."),
            ])
    }

    let database: String
    let space: String
    let colorBy: String
    let out: String

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        space = try QueryCommand.requireSpace(arguments)
        colorBy = arguments.value("color-by") ?? "family"
        guard !colorBy.isEmpty else { throw UsageError("--color-by needs a metadata key, e.g. --color-by family") }
        out = arguments.value("out") ?? "map.svg"
        guard !out.isEmpty else { throw UsageError("--out needs a file name, e.g. --out map.svg") }
    }

    func run(io: CommandIO) throws {
        let store = try Stores.open(database, mustExist: true)
        let map = try store.taskMap(space: space)
        guard !map.points.isEmpty else {
            throw CommandError("--space \(space): the space is empty, nothing to map; ingest vectors into it first (fute-db ingest --space \(space) FILE)")
        }
        if map.values(of: colorBy).isEmpty {
            let keys = map.metadataKeys
            io.note("fute-db: warning: --color-by \(colorBy): no subject in space '\(space)' has this metadata key, so every mark is grey; "
                    + (keys.isEmpty ? "its subjects have no metadata" : "keys present: \(keys.joined(separator: ", "))"))
        }
        let svg = TaskMapSVG(colorBy: colorBy).render(map)
        do {
            try Data(svg.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CommandError("--out \(out): cannot write the map (\(error.localizedDescription)); check that the directory exists and is writable")
        }
        let kinds = Dictionary(grouping: map.points, by: \.kind.rawValue).sorted { $0.key < $1.key }
            .map { "\($0.value.count) \($0.key)\($0.value.count == 1 ? "" : "s")" }.joined(separator: ", ")
        io.print("wrote \(out): \(map.points.count) marks (\(kinds)) of space \(space), classical MDS of the \(map.distance.caption)")
    }
}
