"""The `lstmlab` command: `demo`, `lab`, and `execute` / `export` / `student-edition` for the lesson notebooks."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from . import notebooks
from .demo import run_demo


def positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return int(text)


def lessons_folder():
    """The repository's notebooks/ (lstmlab installed from a clone), else the current folder."""
    folder = Path(__file__).resolve().parents[1] / "notebooks"
    return folder if folder.is_dir() else Path.cwd()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lstmlab", description="See inside LSTM networks.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train the Japanese Vowels network and write an offline HTML report")
    demo.add_argument("--out", default="lstmlab-demo.html", help="the report's path (default: lstmlab-demo.html)")
    demo.add_argument("--epochs", type=positive_int, default=70, help="training epochs (default 70, as in MATLAB's example)")
    demo.add_argument("--seed", type=int, default=0, help="the random seed (default 0)")
    commands.add_parser("lab", help="open JupyterLab on the lessons in notebooks/")
    execute = commands.add_parser("execute", help="run notebooks and store their outputs (a re-run of an unchanged one changes nothing)")
    execute.add_argument("notebooks", nargs="+", help="the .ipynb files")
    export = commands.add_parser("export", help="write a notebook as one offline HTML page, plotly.js embedded once")
    export.add_argument("notebook", help="the .ipynb file")
    export.add_argument("--out", help="the page's path (default: the notebook's, with .html)")
    student = commands.add_parser("student-edition", help="write the lessons without their solutions, for a class")
    student.add_argument("out", help="the folder to write into (created if missing)")
    student.add_argument("--lessons", help="the folder of the lessons (default: the repository's notebooks/)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        folder = Path(args.out).resolve().parent
        if not folder.is_dir():
            parser.error(f"--out {args.out}: the folder {folder} does not exist; create it or choose another path.")
        path, accuracy = run_demo(args.out, epochs=args.epochs, seed=args.seed)
        print(f"test accuracy {accuracy:.2%}; report written to {path}")
        return 0
    if args.command in ("execute", "export", "student-edition"):
        try:
            if args.command == "execute":
                for path in args.notebooks:
                    print(f"ran and stored {notebooks.execute(path)}")
            elif args.command == "export":
                print(f"wrote {notebooks.export(args.notebook, args.out)}")
            else:
                written = notebooks.student_edition(args.lessons or lessons_folder(), args.out)
                print(f"wrote {len(written)} lessons without their solutions into {args.out}")
        except ValueError as error:
            parser.error(str(error))
        return 0
    command = [sys.executable, "-m", "jupyter", "lab", str(lessons_folder())] + (["--allow-root"] if hasattr(os, "getuid") and os.getuid() == 0 else [])
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
