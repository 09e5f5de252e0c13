import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { init } from '@latchkey/sdk';
import { App } from './App';
import { describeError } from './ErrorBox';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

// The SDK's WebAssembly core is loaded once, before anything can touch a key.
init().then(
  () =>
    root.render(
      <StrictMode>
        <App />
      </StrictMode>,
    ),
  (error: unknown) => {
    const { code, message } = describeError(error);
    root.render(
      <main>
        <div className="error" role="alert" data-testid="error">
          <strong>{code}</strong>
          <span>Could not load latchkey's WebAssembly core: {message}</span>
        </div>
      </main>,
    );
  },
);
