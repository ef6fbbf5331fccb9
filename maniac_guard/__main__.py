from maniac_guard.cli import main

main()
