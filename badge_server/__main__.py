from badge_server.cli import main

main()
