import XCTest
@testable import FuteCLI

final class ArgumentParserTests: XCTestCase {
    let options: [OptionSpec] = [
        OptionSpec("space", valueName: "NAME", help: "Space."),
        OptionSpec("k", short: "k", valueName: "N", help: "Results."),
        OptionSpec("where", arity: .repeated, valueName: "KEY=VALUE", help: "Filter."),
        OptionSpec("vector", valueName: "JSON", help: "Vector."),
        .flag("json", help: "JSON output."),
        .flag("exact", short: "e", help: "Exact."),
    ]
    let files = PositionalSpec("FILE", minimum: 0, maximum: nil, help: "Input files.")

    func parse(_ arguments: [String], positionals: PositionalSpec? = nil) throws -> ParsedArguments {
        try ArgumentParser.parse(arguments, options: options, positionals: positionals ?? files)
    }

    func usageError(_ arguments: [String], positionals: PositionalSpec? = nil, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try ArgumentParser.parse(arguments, options: options, positionals: positionals ?? files)
            XCTFail("expected a usage error for \(arguments)", file: file, line: line)
            return ""
        } catch {
            return error.message
        }
    }

    func testSpaceSeparatedAndEqualsForms() throws {
        let parsed = try parse(["--space", "s1", "--k=5", "a.jsonl"])
        XCTAssertEqual(parsed.value("space"), "s1")
        XCTAssertEqual(parsed.value("k"), "5")
        XCTAssertEqual(parsed.positionals, ["a.jsonl"])
    }

    func testShortForms() throws {
        XCTAssertEqual(try parse(["-k", "10"]).value("k"), "10")
        XCTAssertEqual(try parse(["-k10"]).value("k"), "10")
        XCTAssertEqual(try parse(["-k=7"]).value("k"), "7")
        XCTAssertTrue(try parse(["-e"]).flag("exact"))
    }

    func testRepeatedOptionsKeepOrder() throws {
        let parsed = try parse(["--where", "a=1", "--where=b=2"])
        XCTAssertEqual(parsed.all("where"), ["a=1", "b=2"])
    }

    func testDoubleDashMakesEverythingPositional() throws {
        let parsed = try parse(["--json", "--", "--space", "-k"])
        XCTAssertTrue(parsed.flag("json"))
        XCTAssertEqual(parsed.positionals, ["--space", "-k"])
        XCTAssertNil(parsed.value("space"))
    }

    func testValuesMayStartWithDashOrBracket() throws {
        XCTAssertEqual(try parse(["-k", "-3"]).value("k"), "-3")
        XCTAssertEqual(try parse(["--vector", "[-1, 2]"]).value("vector"), "[-1, 2]")
        XCTAssertEqual(try parse(["--vector", "-0.5"]).value("vector"), "-0.5")
    }

    func testHelpStopsParsingEvenWithOtherMistakes() throws {
        XCTAssertTrue(try parse(["--space", "x", "--help", "--bogus"]).helpRequested)
        XCTAssertTrue(try parse(["-h"], positionals: PositionalSpec("FILE", minimum: 1, maximum: nil, help: "")).helpRequested)
    }

    func testUnknownOptionSuggestsTheNearestName() {
        XCTAssertEqual(usageError(["--spcae", "x"]), "unknown option --spcae; did you mean --space? (see --help)")
        XCTAssertTrue(usageError(["--zzzzzzzz"]).hasPrefix("unknown option --zzzzzzzz; see --help"))
        XCTAssertTrue(usageError(["-q"]).hasPrefix("unknown option -q"))
    }

    func testMissingValueNamesTheFlag() {
        XCTAssertEqual(usageError(["--space"]), "--space needs a value: --space NAME")
        XCTAssertEqual(usageError(["--space", "--json"]), "--space needs a value but is followed by --json; write --space NAME")
        XCTAssertEqual(usageError(["-k"]), "-k needs a value: -k N")
    }

    func testSingleOptionGivenTwiceIsRefused() {
        XCTAssertEqual(usageError(["--space", "a", "--space", "b"]), "--space was given twice; give it once")
    }

    func testFlagWithValueIsRefused() {
        XCTAssertEqual(usageError(["--json=yes"]), "--json is a flag and takes no value; write just --json")
    }

    func testPositionalCounts() {
        let one = PositionalSpec("FILE", minimum: 1, maximum: 1, help: "give the observations file")
        XCTAssertEqual(usageError([], positionals: one), "missing a FILE; give the observations file")
        XCTAssertEqual(usageError(["a", "b"], positionals: one), "unexpected argument 'b'; at most 1 FILE allowed")
        XCTAssertEqual(usageError(["a"], positionals: PositionalSpec.none), "unexpected argument 'a'; this command takes options only (see --help)")
    }

    func testIntegerAndChoiceValidation() throws {
        XCTAssertEqual(try parse([]).integer("k", default: 10), 10)
        XCTAssertEqual(try parse(["-k", "3"]).integer("k", default: 10), 3)
        XCTAssertThrowsError(try parse(["-k", "0"]).integer("k", default: 10)) {
            XCTAssertEqual(($0 as? UsageError)?.message, "--k must be at least 1, got 0")
        }
        XCTAssertThrowsError(try parse(["-k", "-2"]).integer("k", default: 10))
        XCTAssertThrowsError(try parse(["-k", "ten"]).integer("k", default: 10)) {
            XCTAssertEqual(($0 as? UsageError)?.message, "--k expects a whole number, got 'ten'; e.g. --k 10")
        }
        XCTAssertThrowsError(try parse(["--space", "hamming"]).choice("space", ["cosine", "l2", "ip"], default: "cosine")) {
            XCTAssertEqual(($0 as? UsageError)?.message, "--space must be one of cosine, l2, ip, got 'hamming'")
        }
    }

    func testHelpIsGeneratedFromTheOptionTable() {
        let help = HelpFormatter.help(commandPath: "fute-db demo", abstract: "Demo things.", discussion: "Longer text.",
                                      options: options, positionals: files)
        XCTAssertTrue(help.hasPrefix("OVERVIEW: Demo things.\n\nLonger text.\n\nUSAGE: fute-db demo [options] [FILE...]\n"), help)
        for option in options {
            XCTAssertTrue(help.contains("--\(option.long)"), "help lists --\(option.long)")
        }
        XCTAssertTrue(help.contains("-k, --k N"))
        XCTAssertTrue(help.contains("--where KEY=VALUE"))
        XCTAssertTrue(help.contains("(repeatable)"))
        XCTAssertTrue(help.contains("-h, --help"))
    }

    func testDatabasePathDefaultsToEnvironmentThenCurrentDirectory() throws {
        let none = ParsedArguments()
        XCTAssertEqual(CommonOptions.databasePath(none, io: CommandIO(environment: [:])), "./fute.db")
        XCTAssertEqual(CommonOptions.databasePath(none, io: CommandIO(environment: ["FUTE_DB": "/tmp/x"])), "/tmp/x")
        var given = ParsedArguments()
        given.values["db"] = ["/d"]
        XCTAssertEqual(CommonOptions.databasePath(given, io: CommandIO(environment: ["FUTE_DB": "/tmp/x"])), "/d")
    }
}
