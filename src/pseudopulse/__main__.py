from pseudopulse.cli import main

main()
