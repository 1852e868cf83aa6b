// toolChoice `required` / a named tool: node-llama-cpp's own way to make a model call a function is a chat
// wrapper whose context state says "no prefix trigger: enter function calling". LlamaChat then writes the
// wrapper's call prefix (`||call: ` for most wrappers) into the model's turn and constrains the function name
// and parameters with its grammars, so the turn is a function call in the wrapper's syntax.
import { LlamaText, type ChatWrapper, type ChatWrapperGenerateContextStateOptions } from 'node-llama-cpp';

/**
 * A view of `wrapper` that renders the same prompt but makes LlamaChat start the model's turn with a function
 * call. Everything else (settings, function-call rendering, results) is the wrapper's own.
 */
export function forceFunctionCall(wrapper: ChatWrapper): ChatWrapper {
  const forced = Object.create(wrapper) as ChatWrapper;
  forced.generateContextState = (options: ChatWrapperGenerateContextStateOptions) => {
    const { contextText, stopGenerationTriggers } = wrapper.generateContextState(options);
    // The call prefix is written by LlamaChat on entering function calling; nothing else is injected.
    return {
      contextText,
      stopGenerationTriggers,
      noPrefixTrigger: { type: 'functionCall', inject: LlamaText([]) },
    };
  };
  return forced;
}

/**
 * The text LlamaChat evaluates before the model's first token of a forced call: the rendered chat plus the
 * call prefix, tokenized together (which is how LlamaChat loads them).
 */
export function forcedCallPromptText(wrapper: ChatWrapper, contextText: LlamaText): LlamaText {
  return LlamaText([contextText, wrapper.settings.functions.call.prefix]);
}
