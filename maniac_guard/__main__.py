from maniac_guard.entry import main

main()
