from badge_server.ops.cli import run_program

run_program()
