from bms.cli import main

main()
