// Command keel-compose-check loads a compose file with compose-go, the loader
// Docker Compose itself uses, and prints the normalized project as JSON.
//
// Usage: keel-compose-check path/to/docker-compose.yml
//
// Variables are interpolated from this process's environment only (no .env
// file is read), so a caller controls exactly what the file sees. Schema
// validation, normalization and the consistency checks (unknown services in
// depends_on, undeclared volumes and networks, ...) are all on. Any error,
// including a missing `${VAR:?message}`, is printed on stderr with exit 1.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: keel-compose-check <compose file>")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "keel-compose-check: %v\n", err)
		os.Exit(1)
	}
}

func run(file string) error {
	path, err := filepath.Abs(file)
	if err != nil {
		return fmt.Errorf("resolving %q: %w", file, err)
	}
	options, err := cli.NewProjectOptions(
		[]string{path},
		cli.WithWorkingDirectory(filepath.Dir(path)),
		cli.WithEnv(os.Environ()),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return fmt.Errorf("preparing to load %q: %w", path, err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return fmt.Errorf("loading %q: %w", path, err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encoding the project of %q as JSON: %w", path, err)
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}
