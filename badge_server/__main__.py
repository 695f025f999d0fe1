from badge_server.ops.cli import main

main()
