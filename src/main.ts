// Entry point of the tabd page. For now it only renders a placeholder: the browser runtime
// (src/node), the client API and the Lit UI replace this file's body when they land.
const root = document.querySelector<HTMLElement>('#app');
if (root === null) throw new Error('index.html must contain <main id="app">');

const heading = document.createElement('h1');
heading.textContent = 'tabd';

const note = document.createElement('p');
note.textContent =
  'A Raft key-value store whose members are browser tabs. The cluster runtime arrives with the browser runtime.';

root.replaceChildren(heading, note);
