package web

// Rebuilds dist/ from src/ (Node 20.19+ and npm; see check-build.sh).
//go:generate sh -c "npm ci --no-audit --no-fund --loglevel=error --prefer-offline && npm run build --silent -- --logLevel warn"
