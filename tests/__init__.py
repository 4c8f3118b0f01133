"""scenestate's tests; a package so that tests/adapters is not mistaken for `adapters`."""
