import FuteCLI

FuteCommandLine.main()
