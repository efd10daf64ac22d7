import FuteCLI; FuteCommandLine.main()
