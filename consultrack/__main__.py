from consultrack.cli import main

main()
