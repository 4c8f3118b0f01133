"""Generation providers: `local` makes real media offline and deterministically,
`hosted` calls the studio's paid model APIs. Operations in `adapters.operations`
put them to work."""
